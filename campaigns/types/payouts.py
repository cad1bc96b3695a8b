"""Payouts of the non-flash campaign types: one idempotent, limit- and budget-checked reward per reference.

Every reward of spend-and-get, check-in, lucky draw and referral goes through `pay`, in one transaction
(and the multiplier's booking of a bonus loyalty already credited, whose budget the sale reserved):

1. a payout whose reference was paid before is returned as `already_paid` (safe to run twice);
2. the member's per-campaign and per-day limits (the row's sequence numbers, UNIQUE and CHECKed);
3. the campaign budget (`budget.spend`, a conditional update); the payout that leaves too little for
   another reward ends the campaign (`budget_exhausted`);
4. the reward itself through loyalty's services: points (`earn_points`, reference
   `campaign:<id>:<what>`) or a voucher of the reward's catalogue benefit (`issue_vouchers`, the same
   reference as `source_reference`).

If loyalty refuses the reward (benefit sold out or paused, member at the benefit's limit) nothing of the
payout is written and the outcome says `reward_unavailable`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from app.core.db import transaction
from app.core.errors import ProblemError
from app.core.timeutil import business_day
from campaigns.audience import eligibility
from campaigns.lifecycle import budget, transitions
from campaigns.models import (
    AudienceMember,
    Campaign,
    CampaignMerchant,
    CampaignPayout,
    CampaignStatus,
    CampaignType,
    Funder,
    PayoutReason,
)
from campaigns.schemas import Reward
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import Member
from merchants.models import Merchant

log = logging.getLogger("linli.campaigns")

ATTEMPTS = 5
WINDOW_CLOSED = "window_closed"  # campaigns.lifecycle.transitions' end reason when the clock ends a campaign


class PayoutOutcome(StrEnum):
    """What `pay` did."""

    PAID = "paid"
    ALREADY_PAID = "already_paid"
    LIMIT_REACHED = "limit_reached"
    DAY_LIMIT_REACHED = "day_limit_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"
    REWARD_UNAVAILABLE = "reward_unavailable"


@dataclass(frozen=True)
class PayoutResult:
    """The outcome of one payout and its row when one exists."""

    outcome: PayoutOutcome
    payout: CampaignPayout | None = None

    @property
    def paid(self) -> bool:
        """Whether the member has this reward (now or from an earlier run)."""
        return self.outcome in (PayoutOutcome.PAID, PayoutOutcome.ALREADY_PAID)


class _RewardRefused(Exception):
    pass


def reference(campaign_id: int, what: str) -> str:
    """The ledger / voucher reference of a payout: `campaign:<id>:<what>`."""
    return f"campaign:{campaign_id}:{what}"


async def running(type_: CampaignType, at: datetime) -> list[Campaign]:
    """Campaigns of a type running at `at`: live now, or ended since only because the window closed
    (a sale listener delayed past the end still pays for a sale made inside the window)."""
    return await Campaign.filter(
        Q(status=CampaignStatus.LIVE) | Q(status=CampaignStatus.ENDED, end_reason=WINDOW_CLOSED),
        type=type_,
        starts_at__lte=at,
        ends_at__gt=at,
    ).order_by("id")


def running_at(campaign: Campaign, at: datetime) -> bool:
    """Whether the campaign counts as running at `at` (the same rule as `running`)."""
    ended_by_clock = campaign.status == CampaignStatus.ENDED and campaign.end_reason == WINDOW_CLOSED
    live = campaign.status == CampaignStatus.LIVE or ended_by_clock
    return live and campaign.starts_at <= at < campaign.ends_at


async def covering(campaigns: list[Campaign], merchant_id: int | None) -> list[Campaign]:
    """The campaigns whose merchants, categories or grids include the merchant (none named: all do)."""
    if not campaigns:
        return []
    listed: dict[int, set[int]] = {}
    for row in await CampaignMerchant.filter(campaign_id__in=[c.id for c in campaigns]):
        listed.setdefault(row.campaign_id, set()).add(row.merchant_id)
    merchant = await Merchant.get_or_none(id=merchant_id) if merchant_id is not None else None
    out = []
    for campaign in campaigns:
        merchants, categories, grids = listed.get(campaign.id, set()), campaign.categories, campaign.grid_ids
        everywhere = not (merchants or categories or grids)
        if everywhere or (merchant is not None and _names(merchant, merchants, categories, grids)):
            out.append(campaign)
    return out


def _names(merchant: Merchant, merchants: set[int], categories: list[str], grids: list[int]) -> bool:
    return (
        merchant.id in merchants
        or (merchant.category is not None and merchant.category.value in categories)
        or (merchant.grid_id is not None and merchant.grid_id in grids)
    )


async def admitted(campaign: Campaign, member: Member, at: datetime) -> bool:
    """Whether the member belongs to the campaign's audience (`campaigns.audience.eligibility` rules)."""
    listed = bool(campaign.audience.get("member_list")) and await AudienceMember.exists(
        campaign_id=campaign.id, member_id=member.id
    )
    tags = (
        await eligibility.member_tags(member.id) if eligibility.uses_tags(campaign.audience) else frozenset()
    )
    return eligibility.admits(campaign.audience, member, at, listed, tags)


def reward_of(campaign: Campaign, key: str = "reward") -> Reward:
    """A reward of the campaign's configuration."""
    return Reward.model_validate(campaign.config[key])


async def pay(
    campaign: Campaign,
    member_id: int,
    reward: Reward,
    what: str,
    reason: PayoutReason,
    at: datetime,
    *,
    deliver: bool = True,
    budget_reserved: bool = False,
) -> PayoutResult:
    """Pay one reward under `campaign:<id>:<what>`, within limits and budget (see the module notes).

    `deliver=False` records a reward loyalty already gave (a multiplier's bonus points in the sale's
    own journal): the payout row and the limits, without crediting anything again. `budget_reserved`:
    the reward's cost was taken from the budget when it was given (a multiplier's bonus, in the sale's
    transaction), so it is not spent again.
    """
    ref = reference(campaign.id, what)
    for attempt in range(ATTEMPTS):
        try:
            async with transaction():
                return await _pay(campaign, member_id, reward, ref, reason, at, deliver, budget_reserved)
        except _RewardRefused as refused:
            log.warning(
                "campaign reward refused: %s",
                refused,
                extra={"campaign_id": campaign.id, "reference": ref, "error": str(refused)},
            )
            return PayoutResult(PayoutOutcome.REWARD_UNAVAILABLE)
        except IntegrityError:  # a concurrent payout to the same member took the same sequence
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _pay(
    campaign: Campaign,
    member_id: int,
    reward: Reward,
    ref: str,
    reason: PayoutReason,
    at: datetime,
    deliver: bool,
    budget_reserved: bool,
) -> PayoutResult:
    existing = await CampaignPayout.get_or_none(reference=ref)
    if existing is not None:
        return PayoutResult(PayoutOutcome.ALREADY_PAID, existing)
    day = business_day(at)
    mine = CampaignPayout.filter(campaign_id=campaign.id, member_id=member_id)
    count = await mine.count()
    if count >= campaign.member_limit:
        return PayoutResult(PayoutOutcome.LIMIT_REACHED)
    today = await mine.filter(business_day=day).count()
    if campaign.member_day_limit and today >= campaign.member_day_limit:
        return PayoutResult(PayoutOutcome.DAY_LIMIT_REACHED)
    if not budget_reserved and not await budget.spend(campaign.id, 1, reward.cost_fen):
        await transitions.end_for_budget(campaign.id)
        return PayoutResult(PayoutOutcome.BUDGET_EXHAUSTED)
    payout = await CampaignPayout.create(
        campaign_id=campaign.id,
        member_id=member_id,
        reference=ref,
        reason=reason,
        kind=reward.kind,
        points=reward.points if reward.kind == "points" else 0,
        cost_fen=reward.cost_fen,
        sequence=count + 1,
        business_day=day,
        day_sequence=today + 1,
        member_limit=campaign.member_limit,
        member_day_limit=campaign.member_day_limit,
    )
    try:
        async with transaction():
            if deliver:
                payout.voucher_id = await _deliver(campaign, member_id, reward, ref)
    except ProblemError as exc:
        raise _RewardRefused(f"{exc.code}: {exc}") from exc
    if payout.voucher_id is not None:
        await CampaignPayout.filter(id=payout.id).update(voucher_id=payout.voucher_id)
    fresh = await Campaign.get(id=campaign.id)
    if budget.exhausted(fresh, reward.cost_fen):
        await transitions.end_for_budget(campaign.id)
    return PayoutResult(PayoutOutcome.PAID, payout)


async def _deliver(campaign: Campaign, member_id: int, reward: Reward, ref: str) -> int | None:
    if reward.kind == "points":
        by_merchant = campaign.funder == Funder.MERCHANT
        await loyalty_ledger.earn_points(
            member_id,
            reward.points,
            source=loyalty_ledger.EarnSource.CAMPAIGN,
            reference=ref,
            merchant_id=campaign.funder_merchant_id if by_merchant else None,
            funded_by_merchant=by_merchant,
            memo=f"{campaign.name}: {reward.title}",
        )
        return None
    if reward.benefit_id is None:
        raise _RewardRefused(f"a {reward.kind} reward needs benefit_id")
    issued = await loyalty_vouchers.issue_vouchers(
        reward.benefit_id, [loyalty_vouchers.VoucherGrant(member_id, ref)], source="campaign"
    )
    if issued[0].voucher_id is None:
        raise _RewardRefused(f"voucher not issued: {issued[0].outcome.value}")
    return issued[0].voucher_id


async def member_payouts(campaign_id: int, member_id: int) -> list[CampaignPayout]:
    """A member's payouts in a campaign, oldest first."""
    return await CampaignPayout.filter(campaign_id=campaign_id, member_id=member_id).order_by("id")


async def member_payout_count(campaign_id: int, member_id: int) -> int:
    """How many rewards a member received from a campaign."""
    return await CampaignPayout.filter(campaign_id=campaign_id, member_id=member_id).count()
