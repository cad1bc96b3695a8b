"""Points-multiplier campaigns: the earn-multiplier provider loyalty asks on every sale, and the sale
listener that books the bonus against the campaign's limits and budget.

A running multiplier campaign (see `payouts.running`) whose merchants, categories or grids cover the
sale's merchant (none named: every merchant) multiplies the member's points by
`multiplier_percent / 100`, if the member belongs to its audience, is still under the campaign's
per-member limits (each boosted sale counts one) and its budget is not spent. The highest offer
applies (loyalty takes the maximum of all providers, so campaigns never stack). One indexed query
when no multiplier campaign runs.

The bonus is credited by loyalty in the sale's own journal (funded by the bank's pool). After the sale
commits, `on_sale` recomputes which campaign gave it and how many points it was, and records a payout
(`campaign:<id>:sale:<sale id>`, reason `multiplier`, cost = bonus × the merchant's point value) that
spends the budget and counts against the limits, without crediting anything again. The check before
the sale and the spend after it are not atomic: sales in flight when the budget runs out may be
boosted without being booked (the campaign ends at once, so at most the sales of those seconds).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from app.core.jobs import job
from app.core.timeutil import business_day
from campaigns.lifecycle import budget
from campaigns.models import Campaign, CampaignPayout, CampaignType, PayoutReason
from campaigns.schemas import Reward
from campaigns.types import payouts
from loyalty.ledger import earn_percent
from loyalty.models import Member, Sale, SaleStatus
from loyalty.till import merchant_terms, sale_points

log = logging.getLogger("linli.campaigns")


async def _within_limits(campaign: Campaign, member_id: int, at: datetime) -> bool:
    if budget.exhausted(campaign, 1):
        return False
    mine = CampaignPayout.filter(campaign_id=campaign.id, member_id=member_id)
    if await mine.count() >= campaign.member_limit:
        return False
    return not (
        campaign.member_day_limit
        and await mine.filter(business_day=business_day(at)).count() >= campaign.member_day_limit
    )


async def _candidates(merchant_id: int | None, at: datetime) -> list[Campaign]:
    return await payouts.covering(await payouts.running(CampaignType.MULTIPLIER, at), merchant_id)


async def _best(campaigns: list[Campaign], member: Member, at: datetime) -> Campaign | None:
    for campaign in sorted(campaigns, key=lambda c: -int(c.config.get("multiplier_percent", 100))):
        if await payouts.admitted(campaign, member, at) and await _within_limits(campaign, member.id, at):
            return campaign
    return None


async def best_campaign(member: Member, merchant_id: int | None, at: datetime) -> Campaign | None:
    """The running multiplier campaign with the highest multiplier this member gets at this merchant."""
    return await _best(await _candidates(merchant_id, at), member, at)


async def earn_multiplier(member_id: int, merchant_id: int | None, at: datetime) -> Decimal:
    """The best multiplier a running campaign offers this member at this merchant (1 when none)."""
    campaigns = await _candidates(merchant_id, at)
    if not campaigns:
        return Decimal(1)
    member = await Member.get_or_none(id=member_id)
    campaign = await _best(campaigns, member, at) if member is not None else None
    if campaign is None:
        return Decimal(1)
    return Decimal(int(campaign.config["multiplier_percent"])) / 100


async def book_sale(sale_id: int) -> payouts.PayoutResult | None:
    """Record the bonus a multiplier campaign gave a sale (idempotent; None when no campaign did)."""
    sale = await Sale.get_or_none(id=sale_id)
    if sale is None or sale.status != SaleStatus.COMPLETED or not sale.points:
        return None
    member = await Member.get(id=sale.member_id)
    campaign = await best_campaign(member, sale.merchant_id, sale.created_at)
    if campaign is None:
        return None
    terms = await merchant_terms(sale.merchant_id)
    plain, _ = sale_points(sale.amount_fen, terms.earn_rate, earn_percent(member.tier), Decimal(1))
    bonus = sale.points - plain
    if bonus <= 0:
        return None
    reward = Reward(
        kind="points",
        title=f"×{int(campaign.config['multiplier_percent']) / 100:g} bonus",
        points=min(bonus, 10_000_000),
        cost_fen=min(bonus * terms.point_value_fen, 10_000_000),
    )
    result = await payouts.pay(
        campaign,
        member.id,
        reward,
        f"sale:{sale.id}",
        PayoutReason.MULTIPLIER,
        sale.created_at,
        deliver=False,
    )
    if not result.paid:
        log.warning(
            "multiplier bonus not booked: %s",
            result.outcome.value,
            extra={"campaign_id": campaign.id, "sale_id": sale.id},
        )
    return result


@job("campaigns.multiplier_on_sale")
async def on_sale(sale_id: int) -> None:
    """Sale listener: book a multiplier bonus against its campaign's limits and budget (safe to run twice)."""
    await book_sale(sale_id)
