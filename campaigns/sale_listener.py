"""The one job loyalty enqueues after each committed sale for campaigns: one outbox row per sale, not one
per campaign type (a sale is the platform's most frequent write)."""

from __future__ import annotations

from app.jobs import job
from campaigns import multiplier, referral, spend_and_get


@job("campaigns.on_sale")
async def on_sale(sale_id: int) -> None:
    """Book a multiplier bonus, pay spend-and-get rewards and a referral's first spend (each safe twice)."""
    await multiplier.book_sale(sale_id)
    await spend_and_get.rewards_for_sale(sale_id)
    await referral.reward_for_sale(sale_id)
