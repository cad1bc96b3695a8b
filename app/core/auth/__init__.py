"""Authentication and authorisation for the three audiences: members, merchant staff, bank operators."""
