"""Merchant domain errors."""

from __future__ import annotations

from typing import Any

from app.core.errors import Conflict, Forbidden, NotFound, ProblemError


class MerchantNotFound(NotFound):
    """No such merchant visible to the caller."""

    code = "merchant.not_found"


class BranchNotFound(NotFound):
    """No such branch (grid)."""

    code = "grid.not_found"


class StoreNotFound(NotFound):
    """No such store visible to the caller."""

    code = "store.not_found"


class ChangeNotFound(NotFound):
    """No such pending change of this merchant."""

    code = "merchant.change_not_found"


class StaffNotFound(NotFound):
    """No such staff member at the caller's merchant."""

    code = "staff.not_found"


class StaffPhoneTaken(Conflict):
    """A staff account with this phone exists."""

    code = "staff.phone_taken"


class InvalidTransition(Conflict):
    """The merchant is not in a state that allows this transition."""

    code = "merchant.invalid_transition"

    def __init__(self, action: str, current: str) -> None:
        super().__init__(f"cannot {action} a merchant that is {current}", current_status=current)


class CreditCodeTaken(Conflict):
    """Another merchant already has this unified social credit code."""

    code = "merchant.credit_code_taken"

    def __init__(self) -> None:
        super().__init__(
            "credit_code: another merchant has this unified social credit code",
            errors=[{"field": "credit_code", "message": "already registered", "type": self.code}],
        )


class ChangePending(Conflict):
    """A legal-field change is already waiting for review."""

    code = "merchant.change_pending"


class UnderReview(Conflict):
    """A submitted application cannot be edited until it is reviewed."""

    code = "merchant.under_review"


class ApplicationIncomplete(ProblemError):
    """Required application fields are missing (each one named)."""

    status, code, title = 422, "merchant.incomplete", "Application incomplete"

    def __init__(self, missing: list[str]) -> None:
        errors: list[dict[str, Any]] = [
            {"field": f, "message": "required", "type": "missing"} for f in missing
        ]
        super().__init__(f"missing fields: {', '.join(missing)}", errors=errors)


class OutsideYourGrids(Forbidden):
    """A grid manager acted on a store outside their grids."""

    code = "grid.not_yours"


class QrNotIssued(Conflict):
    """The store's QR code is issued at approval."""

    code = "store.qr_not_issued"


class QrInvalid(ProblemError):
    """A scanned code is not a store code signed by this platform."""

    status, code, title = 400, "store.qr_invalid", "Invalid store code"


class QrRevoked(ProblemError):
    """A scanned store code was replaced by a newer one."""

    status, code, title = 410, "store.qr_revoked", "Store code revoked"
