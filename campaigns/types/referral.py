"""Member-gets-member referrals: a new member enters a friend's code; both are rewarded on a first spend.

* Every member has one referral code (created on first use, `GET /mp/v1/me/referral`).
* `accept` (`POST /mp/v1/referrals/accept`): once per referee (UNIQUE referee), never one's own code
  (CHECK), only for new members (registered within the campaign's `audience.new_member_days`, default
  30, and without a sale yet), while a referral campaign that admits the referee runs.
* `on_sale` (a loyalty sale listener): the referee's first sale at or above
  `qualifying_min_spend_fen` at a covered merchant during the campaign flips the referral
  `pending → rewarded` (a conditional update, so it happens once) and pays both rewards
  (`campaign:<id>:referral:<referral id>:referee|referrer`), within limits and budget, in one transaction.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.db import transaction
from app.core.jobs import job
from app.core.timeutil import utcnow
from campaigns.errors import NoReferralCampaign, ReferralCodeNotFound, ReferralNotAllowed
from campaigns.models import (
    Campaign,
    CampaignType,
    PayoutReason,
    Referral,
    ReferralCode,
    ReferralStatus,
)
from campaigns.types import payouts
from loyalty import messages
from loyalty.models import Member, MessageKind, Sale, SaleStatus

log = logging.getLogger("linli.campaigns")

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by hand
CODE_LENGTH = 8


async def code_of(member_id: int) -> str:
    """The member's referral code, created on first use."""
    for _ in range(5):
        existing = await ReferralCode.get_or_none(member_id=member_id)
        if existing is not None:
            return existing.code
        try:
            async with transaction():
                code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
                await ReferralCode.create(member_id=member_id, code=code)
                return code
        except IntegrityError:  # a concurrent first use, or (rarely) a code taken by another member
            continue
    raise RuntimeError("could not allocate a referral code")


async def invitations(member_id: int) -> list[Referral]:
    """Referrals the member made, newest first."""
    return await Referral.filter(referrer_id=member_id).order_by("-id")


async def referred_by(member_id: int) -> Referral | None:
    """The referral that brought this member, if any."""
    return await Referral.get_or_none(referee_id=member_id)


async def accept(actor: Principal, code: str) -> Referral:
    """The calling member enters a referrer's code (once, not their own, only as a new member)."""
    now = utcnow()
    owner = await ReferralCode.get_or_none(code=code.strip().upper())
    if owner is None:
        raise ReferralCodeNotFound("no member has this referral code")
    if owner.member_id == actor.id:
        raise ReferralNotAllowed("you cannot use your own referral code")
    previous = await Referral.get_or_none(referee_id=actor.id)
    if previous is not None:
        if previous.referrer_id == owner.member_id:
            return previous  # the same code again: nothing changes
        raise ReferralNotAllowed("you accepted a referral already")
    member = await Member.get(id=actor.id)
    campaigns = [
        c for c in await payouts.running(CampaignType.REFERRAL, now) if await payouts.admitted(c, member, now)
    ]
    if not campaigns:
        raise NoReferralCampaign("no referral campaign is running for you")
    campaign = campaigns[-1]
    days = int(campaign.audience.get("new_member_days") or 30)
    if member.created_at < now - timedelta(days=days) or await Sale.exists(member_id=member.id):
        raise ReferralNotAllowed(f"only members who joined in the last {days} days and never spent yet")
    try:
        async with transaction():
            referral = await Referral.create(
                campaign_id=campaign.id, referrer_id=owner.member_id, referee_id=member.id
            )
            await audit.record(
                actor,
                "referral.accept",
                "referral",
                referral.id,
                after={"campaign_id": campaign.id, "referrer_id": owner.member_id, "referee_id": member.id},
            )
            return referral
    except IntegrityError:  # a concurrent accept by the same member
        again = await Referral.get(referee_id=actor.id)
        if again.referrer_id != owner.member_id:
            raise ReferralNotAllowed("you accepted a referral already") from None
        return again


async def reward_for_sale(sale_id: int) -> list[payouts.PayoutResult]:
    """Reward referee and referrer if this sale is the referee's first qualifying spend (idempotent)."""
    sale = await Sale.get_or_none(id=sale_id)
    if sale is None or sale.status != SaleStatus.COMPLETED:
        return []
    referral = await Referral.get_or_none(referee_id=sale.member_id, status=ReferralStatus.PENDING)
    if referral is None or sale.created_at < referral.accepted_at:
        return []
    campaign = await Campaign.get(id=referral.campaign_id)
    at = sale.created_at
    if not payouts.running_at(campaign, at):
        return []
    if sale.amount_fen < int(campaign.config.get("qualifying_min_spend_fen") or 0):
        return []
    if not await payouts.covering([campaign], sale.merchant_id):
        return []
    async with transaction():
        flipped = await Referral.filter(id=referral.id, status=ReferralStatus.PENDING).update(
            status=ReferralStatus.REWARDED, sale_id=sale.id, rewarded_at=utcnow()
        )
        if not flipped:
            return []
        results = [
            await payouts.pay(
                campaign,
                referral.referee_id,
                payouts.reward_of(campaign, "referee_reward"),
                f"referral:{referral.id}:referee",
                PayoutReason.REFEREE,
                at,
            ),
            await payouts.pay(
                campaign,
                referral.referrer_id,
                payouts.reward_of(campaign, "referrer_reward"),
                f"referral:{referral.id}:referrer",
                PayoutReason.REFERRER,
                at,
            ),
        ]
        await audit.record(
            None,
            "referral.reward",
            "referral",
            referral.id,
            after={"sale_id": sale.id, "outcomes": [r.outcome.value for r in results]},
        )
        referrer = results[1]
        if referrer.outcome is payouts.PayoutOutcome.PAID and referrer.payout is not None:
            paid = referrer.payout
            reward = f"{paid.points} points" if paid.points else f"a {paid.kind}"
            await messages.send(
                referral.referrer_id,
                MessageKind.REFERRAL_REWARD,
                {"reward": reward, "campaign": campaign.name},
                f"referral_reward:{referral.id}",
            )
    return results


@job("campaigns.referral_on_sale")
async def on_sale(sale_id: int) -> None:
    """Sale listener: reward a referral on the referee's first qualifying spend (safe to run twice)."""
    await reward_for_sale(sale_id)
