"""Campaign errors with stable codes."""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden, NotFound, ProblemError, ServiceUnavailable


class CampaignNotFound(NotFound):
    """No such campaign, or not visible to the caller."""

    code, title = "campaign.not_found", "Campaign not found"


class InvalidTransition(Conflict):
    """The campaign's status does not allow this action."""

    code, title = "campaign.invalid_transition", "Not allowed in this status"


class NotEditable(Conflict):
    """Live, paused, ended and cancelled campaigns cannot be edited."""

    code, title = "campaign.not_editable", "Campaign cannot be edited"


class VersionConflict(Conflict):
    """The campaign changed since the caller read it."""

    code, title = "campaign.version_conflict", "Campaign changed"


class FourEyesViolation(Forbidden):
    """The approver must be another operator than the campaign's author and last editor."""

    code, title = "campaign.four_eyes", "Four-eyes rule"


class OrderNotFound(NotFound):
    """No such flash order of the caller's."""

    code, title = "flash.order_not_found", "Order not found"


class OrderExpired(Conflict):
    """The order was not paid by its deadline: its item went back on sale."""

    code, title = "flash.order_expired", "Order expired"


class OrderCancelled(Conflict):
    """The member cancelled the order: its item went back on sale."""

    code, title = "flash.order_cancelled", "Order cancelled"


class OrderPaid(Conflict):
    """The order is paid and can no longer be cancelled."""

    code, title = "flash.order_paid", "Order paid"


class OrderNotPayable(Conflict):
    """The order is paid another way (points or the bank account)."""

    code, title = "flash.order_not_payable", "Paid another way"


class InsufficientFunds(ProblemError):
    """The member's bank account cannot cover the order (the order stays payable until its deadline)."""

    status, code, title = 402, "flash.insufficient_funds", "Insufficient funds"


class NotFlash(Conflict):
    """The action applies to flash campaigns only."""

    code, title = "campaign.not_flash", "Not a flash campaign"


class CampaignUnavailable(ServiceUnavailable):
    """The flash engine is (re)loading the campaign; retry shortly."""

    code, title = "campaign.unavailable", "Campaign temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail or "the campaign is being loaded; retry shortly", retry_after=retry_after)


class CampaignNotRunning(Conflict):
    """The campaign is not live right now (not started, paused or ended)."""

    code, title = "campaign.not_running", "Campaign not running"


class WrongCampaignType(Conflict):
    """The action does not apply to this type of campaign."""

    code, title = "campaign.wrong_type", "Not this type of campaign"


class LimitReached(Conflict):
    """The member reached the campaign's per-member limit (in total or today)."""

    code, title = "campaign.limit_reached", "Limit reached"


class BudgetExhausted(Conflict):
    """The campaign's budget cannot pay for another reward."""

    code, title = "campaign.budget_exhausted", "Budget exhausted"


class ReferralCodeNotFound(NotFound):
    """No member has this referral code."""

    code, title = "referral.code_not_found", "Referral code not found"


class ReferralNotAllowed(Conflict):
    """The code cannot be accepted: one's own code, accepted before, or not a new member."""

    code, title = "referral.not_allowed", "Referral not allowed"


class NoReferralCampaign(Conflict):
    """No referral campaign is running for this member."""

    code, title = "referral.no_campaign", "No referral campaign"


class AlreadyOpen(Conflict):
    """The flash sale has opened already: there is nothing to remind of."""

    code, title = "campaign.already_open", "Already open"
