"""Refunds take campaign rewards back: what a refunded sale earned from campaigns is reversed.

A refunded sale's points come back through loyalty (the sale's own journal is reversed, multiplier
bonus included). The rewards campaigns paid for it are separate payouts, found by their references:
spend-and-get and multiplier (`campaign:<id>:sale:<sale id>`) and, when the sale was a referee's
qualifying first spend, both referral rewards (`campaign:<id>:referral:<id>:referee|referrer`). Each
payout is marked reversed once (a conditional update), then:

- points rewards are reversed in the ledger (what the member already spent is written off);
- an unused voucher is revoked (a used one is written off: the purchase it discounted stands);
- a multiplier payout only records the reversal (its points left with the sale's journal).

The budget keeps what was granted and a reversed payout still counts against the member's limits, so
buying and refunding again earns nothing twice. Safe to run twice, and concurrently with the sale's
own listener (which calls it again when it sees the sale refunded after paying).
"""

from __future__ import annotations

import logging

from app.core.db import transaction
from app.core.sql import column
from app.core.timeutil import utcnow
from campaigns.models import Campaign, CampaignPayout, CampaignType, PayoutReason, Referral, ReferralStatus
from campaigns.types import payouts
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import Sale, SaleStatus

log = logging.getLogger("linli.campaigns")

SALE_REWARDING = (CampaignType.SPEND_AND_GET, CampaignType.MULTIPLIER)


async def claw_back_sale(sale_id: int) -> list[CampaignPayout]:
    """Take back every campaign reward a refunded sale earned; the payouts reversed by this call."""
    sale = await Sale.get_or_none(id=sale_id)
    if sale is None or sale.status != SaleStatus.REFUNDED:
        return []
    references = await _payout_references(sale)
    await Referral.filter(sale_id=sale.id, status=ReferralStatus.REWARDED).update(
        status=ReferralStatus.REVOKED
    )
    taken = []
    for payout in await CampaignPayout.filter(reference__in=references, reversed_at=None).order_by("id"):
        if await _take_back(payout, sale.id):
            taken.append(payout)
    return taken


async def _payout_references(sale: Sale) -> list[str]:
    at = sale.created_at
    # Any status: a campaign that ended (budget, ops) after paying still had paid for this sale.
    campaign_ids = await column(
        Campaign.filter(type__in=list(SALE_REWARDING), starts_at__lte=at, ends_at__gt=at).values_list(
            "id", flat=True
        )
    )
    references = [payouts.reference(cid, f"sale:{sale.id}") for cid in campaign_ids]
    for referral in await Referral.filter(sale_id=sale.id):
        references += [
            payouts.reference(referral.campaign_id, f"referral:{referral.id}:{side}")
            for side in ("referee", "referrer")
        ]
    return references


async def _take_back(payout: CampaignPayout, sale_id: int) -> bool:
    async with transaction():
        marked = await CampaignPayout.filter(id=payout.id, reversed_at=None).update(reversed_at=utcnow())
        if not marked:
            return False  # another run took it back
        if payout.reason == PayoutReason.MULTIPLIER:
            pass  # the bonus was part of the sale's own journal, reversed by the refund
        elif payout.voucher_id is not None:
            revoked = await loyalty_vouchers.revoke_voucher(payout.voucher_id)
            if not revoked:
                log.info("refunded sale's voucher was used already", extra={"voucher_id": payout.voucher_id})
        elif payout.points:
            await loyalty_ledger.reverse_points(payout.reference, memo=f"refund of sale {sale_id}")
    log.info(
        "campaign reward taken back",
        extra={"campaign_id": payout.campaign_id, "reference": payout.reference, "sale_id": sale_id},
    )
    return True
