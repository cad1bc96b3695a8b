"""Loyalty: the shared member pool, the points ledger, benefits and vouchers, settlement."""
