"""Merchant staff: accounts, their login and sessions."""
