"""Bill payment (生活缴费): billers, household accounts, bill orders, reconciliation and reminders."""
