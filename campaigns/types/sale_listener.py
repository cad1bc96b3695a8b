"""The jobs loyalty enqueues for campaigns: after each committed sale (one outbox row per sale, not one
per campaign type: a sale is the platform's most frequent write) and after each refund."""

from __future__ import annotations

from app.core.jobs import job
from campaigns.types import clawback, multiplier, referral, spend_and_get
from loyalty.models import Sale, SaleStatus


@job("campaigns.on_sale")
async def on_sale(sale_id: int) -> None:
    """Book the multiplier bonus the sale recorded, pay spend-and-get rewards and a referral's first spend
    (each safe twice)."""
    await multiplier.book_sale(sale_id)
    await spend_and_get.rewards_for_sale(sale_id)
    await referral.reward_for_sale(sale_id)
    # A refund that committed while these paid may have found nothing to take back yet.
    if await Sale.filter(id=sale_id, status=SaleStatus.REFUNDED).exists():
        await clawback.claw_back_sale(sale_id)


@job("campaigns.on_sale_refunded")
async def on_sale_refunded(sale_id: int) -> None:
    """Take back the campaign rewards a refunded sale earned (safe to run twice)."""
    await clawback.claw_back_sale(sale_id)
