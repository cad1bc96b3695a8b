"""Loyalty problem codes (stable: clients and other domains match on them)."""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden, NotFound, ProblemError


class MemberNotFound(NotFound):
    """No such member."""

    code = "member.not_found"


class MemberNotJoined(Conflict):
    """The member has not joined the alliance yet."""

    code, title = "member.not_joined", "Not a member yet"


class HomeGridLocked(Conflict):
    """The member chose their home grid too recently to change it again."""

    code, title = "member.home_grid_locked", "Home grid changed recently"


class GridNotFound(NotFound):
    """No such grid."""

    code = "grid.not_found"


class PhoneTaken(Conflict):
    """The phone number is bound to another member."""

    code, title = "member.phone_taken", "Phone already bound"


class PointsInsufficient(Conflict):
    """The member's balance does not cover the points asked for (nothing was written)."""

    code, title = "points.insufficient", "Not enough points"


class ReferenceConflict(Conflict):
    """A reference was already used for a different posting."""

    code, title = "points.reference_conflict", "Reference already used"


class JournalNotFound(NotFound):
    """No journal with that reference."""

    code = "points.journal_not_found"


class NotReversible(Conflict):
    """This journal cannot be reversed (an expiry or a reversal itself)."""

    code, title = "points.not_reversible", "Cannot be reversed"


class MerchantNotActive(Conflict):
    """The merchant is not active in the alliance."""

    code, title = "merchant.not_active", "Merchant not active"


class MerchantNotFound(NotFound):
    """No such merchant."""

    code = "merchant.not_found"


class MemberCodeInvalid(ProblemError):
    """The member QR code is malformed or its signature is wrong."""

    status, code, title = 400, "member_code.invalid", "Invalid member code"


class MemberCodeExpired(ProblemError):
    """The member QR code is older than its lifetime: the member must refresh it."""

    status, code, title = 410, "member_code.expired", "Member code expired"


class MemberCodeUsed(Conflict):
    """The member QR code already paid once: the member must show a fresh one."""

    code, title = "member_code.used", "Member code already used"


class SaleNotFound(NotFound):
    """No such sale at this merchant."""

    code = "sale.not_found"


class SaleAlreadyRefunded(Conflict):
    """The sale was refunded already."""

    code, title = "sale.refunded", "Sale already refunded"


class PaymentNotFound(NotFound):
    """No such points payment at this merchant."""

    code = "points_payment.not_found"


class PaymentAlreadyReversed(Conflict):
    """The points payment was reversed already."""

    code, title = "points_payment.reversed", "Payment already reversed"


class ReversalWindowClosed(Conflict):
    """Too late to reverse at the till."""

    code, title = "reversal.window_closed", "Reversal window closed"


class BenefitNotFound(NotFound):
    """No such benefit (or not visible to the caller)."""

    code = "benefit.not_found"


class BenefitUnavailable(Conflict):
    """The benefit is not active or outside its window."""

    code, title = "benefit.unavailable", "Benefit not available"


class BenefitSoldOut(Conflict):
    """No stock left."""

    code, title = "benefit.sold_out", "Sold out"


class BenefitLimitReached(Conflict):
    """The member already holds as many vouchers of this benefit as allowed."""

    code, title = "benefit.limit_reached", "Limit reached"


class BenefitInvalidTransition(Conflict):
    """The benefit cannot move to that status from its current one."""

    code, title = "benefit.invalid_transition", "Invalid status change"


class VoucherNotFound(NotFound):
    """No such voucher (or not the caller's)."""

    code = "voucher.not_found"


class VoucherTokenInvalid(ProblemError):
    """The voucher QR token is malformed or forged."""

    status, code, title = 400, "voucher.token_invalid", "Invalid voucher code"


class VoucherTokenExpired(ProblemError):
    """The voucher QR token is older than its lifetime: the member must refresh it."""

    status, code, title = 410, "voucher.token_expired", "Voucher code expired"


class VoucherTokenUsed(Conflict):
    """This voucher QR token was already scanned once."""

    code, title = "voucher.token_used", "Voucher code already used"


class VoucherUsed(Conflict):
    """The voucher was already redeemed."""

    code, title = "voucher.used", "Voucher already used"


class VoucherRevoked(Conflict):
    """The voucher was taken back (the purchase that earned it was refunded)."""

    code, title = "voucher.revoked", "Voucher revoked"


class VoucherExpired(ProblemError):
    """The voucher's validity is over."""

    status, code, title = 410, "voucher.expired", "Voucher expired"


class VoucherNotYetValid(Conflict):
    """The voucher's validity has not started."""

    code, title = "voucher.not_yet_valid", "Voucher not valid yet"


class VoucherNotValidHere(Forbidden):
    """The voucher cannot be redeemed at this merchant (or not for this purpose)."""

    code, title = "voucher.not_valid_here", "Voucher not valid here"


class VoucherMinimumSpend(ProblemError):
    """The bill does not reach the voucher's minimum spend."""

    status, code, title = 422, "voucher.min_spend_not_met", "Minimum spend not met"


class RedemptionNotFound(NotFound):
    """No such redemption at this merchant."""

    code = "redemption.not_found"


class RedemptionAlreadyReversed(Conflict):
    """The redemption was reversed already."""

    code, title = "redemption.reversed", "Redemption already reversed"


class StatementNotFound(NotFound):
    """No such settlement statement (or not the caller's)."""

    code = "settlement.not_found"


class StatementInvalidTransition(Conflict):
    """The statement cannot move to that status from its current one."""

    code, title = "settlement.invalid_transition", "Invalid status change"


class MessageNotFound(NotFound):
    """No such message in the member's inbox."""

    code = "message.not_found"


class BroadcastNotFound(NotFound):
    """No such broadcast."""

    code = "broadcast.not_found"


class BroadcastFourEyes(Forbidden):
    """A broadcast is approved by another operator than its author."""

    code, title = "broadcast.four_eyes", "Four-eyes rule"


class BroadcastNotDraft(Conflict):
    """Only a draft broadcast can be approved or cancelled."""

    code, title = "broadcast.not_draft", "Not a draft"
