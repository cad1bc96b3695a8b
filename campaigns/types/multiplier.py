"""Points-multiplier campaigns: the earn-multiplier provider loyalty asks inside every sale's transaction,
and the sale listener that books the bonus the sale recorded.

**Deciding** (`decide`, in the sale's transaction, before loyalty posts its points). A running
multiplier campaign (see `payouts.running`) whose merchants, categories or grids cover the sale's
merchant (none named: every merchant) offers `multiplier_percent`. The highest offer applies if the
member belongs to its audience, is under the campaign's per-member limits (each boosted sale counts one)
and the budget covers the bonus; otherwise the next offer is tried, so campaigns never stack. Before
anything else, the provider locks the member's points account (`SaleContext.lock_member`): one member's
sales decide one after the other, and the limits count every sale the campaign boosted, booked yet or
not (`loyalty.till.boosted_sales`); campaign rows are locked only after it, in one order. The bonus's
cost (bonus points × the merchant's point value) is then reserved by the budget's conditional update
(`budget.spend`) in the sale's transaction: the bonus and its budget commit together or not at all. A
bonus the budget cannot cover is not given, and the campaign ends (`budget_exhausted`) with that sale,
as it does with a sale that finds the budget spent. One indexed query per sale when no multiplier
campaign runs.

**Booking** (`book_sale`, the sale listener, after the sale commits). It reads the decision recorded on
the sale (`loyalty.till.sale_multiplier`: campaign, percent, bonus points, reserved cost) and records
the payout `campaign:<id>:sale:<sale id>` (reason `multiplier`) without crediting anything again (the
bonus is in the sale's own journal) and without spending the budget again (reserved already). The payout
counts against the limits; booking twice books once. A sale refunded before its booking is booked all
the same (its budget stays spent) and then taken back by `clawback`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from app.core.db import transaction
from app.core.jobs import job
from app.core.timeutil import business_day, business_day_bounds
from campaigns.errors import InvalidTransition
from campaigns.lifecycle import budget, transitions
from campaigns.models import Campaign, CampaignPayout, CampaignType, PayoutReason
from campaigns.schemas import Reward
from campaigns.types import payouts
from loyalty import till as loyalty_till
from loyalty.hooks import MultiplierDecision, SaleContext
from loyalty.models import Member

log = logging.getLogger("linli.campaigns")

MAX_REWARD = 10_000_000  # `Reward` caps points and cost_fen


def _percent(campaign: Campaign) -> int:
    return int(campaign.config.get("multiplier_percent", 100))


async def _candidates(merchant_id: int | None, at: datetime) -> list[Campaign]:
    return await payouts.covering(await payouts.running(CampaignType.MULTIPLIER, at), merchant_id)


async def _under_limits(campaign: Campaign, member_id: int, at: datetime) -> bool:
    """Whether the member may have one more boosted sale (their account is locked: the counts are exact).

    Boosted sales count whether booked yet or not; the booked payouts count too, for sales boosted before
    sales recorded their multiplier (the larger of the two is the member's count).
    """
    booked = CampaignPayout.filter(campaign_id=campaign.id, member_id=member_id)
    boosted = await loyalty_till.boosted_sales(campaign.id, member_id)
    if max(boosted, await booked.count()) >= campaign.member_limit:
        return False
    if not campaign.member_day_limit:
        return True
    day = business_day(at)
    boosted_today = await loyalty_till.boosted_sales(campaign.id, member_id, between=business_day_bounds(day))
    booked_today = await booked.filter(business_day=day).count()
    return max(boosted_today, booked_today) < campaign.member_day_limit


async def _end_for_budget(campaign_id: int) -> None:
    """End a campaign whose budget cannot cover a bonus, with the sale (a savepoint: never fails it)."""
    try:
        async with transaction():
            await transitions.end_for_budget(campaign_id)
    except InvalidTransition:
        pass  # a concurrent sale or payout ended it first


async def decide(sale: SaleContext) -> MultiplierDecision | None:
    """Earn-multiplier provider (inside the sale's transaction): the best multiplier a running campaign
    gives this member at this merchant, with its bonus's cost reserved from the budget (None: no bonus)."""
    campaigns = await _candidates(sale.merchant_id, sale.at)
    if not campaigns:
        return None
    member = await Member.get_or_none(id=sale.member_id)
    if member is None:
        return None
    # The member's account first, campaign rows after (in one order: highest multiplier, then id), so
    # that sales never wait for each other in a circle.
    await sale.lock_member()
    for campaign in sorted(campaigns, key=lambda c: (-_percent(c), c.id)):
        percent = _percent(campaign)
        bonus = sale.bonus_for(percent)
        if bonus <= 0:
            break  # too small a sale: a lower multiplier adds nothing either
        if budget.exhausted(campaign, 1):  # spent by committed sales: it only grows
            await _end_for_budget(campaign.id)
            continue
        if not await payouts.admitted(campaign, member, sale.at):
            continue
        if not await _under_limits(campaign, member.id, sale.at):
            continue
        cost = min(bonus * sale.point_value_fen, MAX_REWARD)
        if not await budget.spend(campaign.id, 1, cost):
            await _end_for_budget(campaign.id)
            continue
        return MultiplierDecision(campaign_id=campaign.id, percent=percent, bonus_points=bonus, cost_fen=cost)
    return None


async def book_sale(sale_id: int) -> payouts.PayoutResult | None:
    """Book the multiplier bonus recorded on a sale as its campaign's payout (idempotent; None when no
    campaign boosted the sale)."""
    recorded = await loyalty_till.sale_multiplier(sale_id)
    if recorded is None:
        return None
    campaign = await Campaign.get(id=recorded.campaign_id)
    reward = Reward(
        kind="points",
        title=f"×{recorded.percent / 100:g} bonus",
        points=min(recorded.bonus_points, MAX_REWARD),
        cost_fen=recorded.cost_fen,
    )
    result = await payouts.pay(
        campaign,
        recorded.member_id,
        reward,
        f"sale:{recorded.sale_id}",
        PayoutReason.MULTIPLIER,
        recorded.sold_at,
        deliver=False,
        budget_reserved=True,
    )
    if not result.paid:
        log.warning(
            "multiplier bonus not booked: %s",
            result.outcome.value,
            extra={"campaign_id": campaign.id, "sale_id": recorded.sale_id},
        )
    return result


@job("campaigns.multiplier_on_sale")
async def on_sale(sale_id: int) -> None:
    """Sale listener: book the multiplier bonus a sale recorded (safe to run twice)."""
    await book_sale(sale_id)
