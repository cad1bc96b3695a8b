"""Onboarding: applications, their review, the merchant lifecycle, legal-field changes and licences.

The review is what the composition root's ops console calls, the same functions `/ops/v1` calls."""

from merchants.onboarding.applications import approve as approve_application
from merchants.onboarding.applications import decide_change, licence_response
from merchants.onboarding.applications import reactivate as reactivate_merchant
from merchants.onboarding.applications import reject as reject_application
from merchants.onboarding.applications import suspend as suspend_merchant

__all__ = [
    "approve_application",
    "decide_change",
    "licence_response",
    "reactivate_merchant",
    "reject_application",
    "suspend_merchant",
]
