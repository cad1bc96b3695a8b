"""Campaigns: campaign management and the flash-campaign engine."""
