"""Onboarding: applications, their review, the merchant lifecycle, legal-field changes and licences."""
