"""Locust scenarios, benchmark scripts and their shared setup."""
