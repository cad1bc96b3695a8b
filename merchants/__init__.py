"""Merchants: branches, community grids, merchant onboarding, staff, store QR codes, discovery."""
