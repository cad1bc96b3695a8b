"""Merchant domain errors."""

from __future__ import annotations

from app.errors import Conflict, NotFound


class MerchantNotFound(NotFound):
    """No such merchant visible to the caller."""

    code = "merchant.not_found"


class StaffNotFound(NotFound):
    """No such staff member at the caller's merchant."""

    code = "staff.not_found"


class StaffPhoneTaken(Conflict):
    """A staff account with this phone exists."""

    code = "staff.phone_taken"
