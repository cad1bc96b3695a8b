"""Onboarding: applications, their review, the merchant lifecycle, legal-field changes and licences.

The review is what the composition root's ops console calls, the same functions `/ops/v1` calls."""

from merchants.onboarding.applications import approve as approve_application
from merchants.onboarding.applications import reject as reject_application

__all__ = ["approve_application", "reject_application"]
