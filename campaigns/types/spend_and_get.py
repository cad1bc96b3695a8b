"""Spend-and-get campaigns: a sale of at least `min_spend_fen` at a covered merchant earns the reward.

`on_sale` is a loyalty sale listener (enqueued through the outbox in the sale's transaction): for each
live spend-and-get campaign whose window contains the sale, that covers the merchant and admits the
member, it pays the reward once per qualifying sale (payout reference `campaign:<id>:sale:<sale id>`),
within the member's limits and the budget. Running it twice pays nothing twice.
"""

from __future__ import annotations

import logging

from app.core.jobs import job
from campaigns.models import CampaignType, PayoutReason
from campaigns.types import payouts
from loyalty.models import Member, Sale, SaleStatus

log = logging.getLogger("linli.campaigns")


async def rewards_for_sale(sale_id: int) -> list[payouts.PayoutResult]:
    """Pay every spend-and-get reward the sale qualifies for (idempotent)."""
    sale = await Sale.get_or_none(id=sale_id)
    if sale is None or sale.status != SaleStatus.COMPLETED:
        return []
    at = sale.created_at
    campaigns = await payouts.covering(
        await payouts.running(CampaignType.SPEND_AND_GET, at), sale.merchant_id
    )
    qualifying = [c for c in campaigns if sale.amount_fen >= int(c.config["min_spend_fen"])]
    if not qualifying:
        return []
    member = await Member.get(id=sale.member_id)
    results = []
    for campaign in qualifying:
        if not await payouts.admitted(campaign, member, at):
            continue
        result = await payouts.pay(
            campaign, member.id, payouts.reward_of(campaign), f"sale:{sale.id}", PayoutReason.SPEND, at
        )
        log.info(
            "spend-and-get",
            extra={"campaign_id": campaign.id, "sale_id": sale.id, "outcome": result.outcome.value},
        )
        results.append(result)
    return results


@job("campaigns.spend_and_get_on_sale")
async def on_sale(sale_id: int) -> None:
    """Sale listener: pay the spend-and-get rewards of a committed sale (safe to run twice)."""
    await rewards_for_sale(sale_id)
