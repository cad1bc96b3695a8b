"""Check-in streak campaigns: one check-in per business day; every `streak_days` consecutive days pay.

A check-in is a row unique per (campaign, member, Asia/Shanghai business day), so checking in twice the
same day (or two concurrent requests) returns the first check-in. Its streak is yesterday's streak + 1
(else 1); when the streak reaches a multiple of `streak_days` the reward is paid under
`campaign:<id>:checkin:<member>:<day>` (idempotent, within limits and budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError

from app.core.db import transaction
from app.core.timeutil import business_day, utcnow
from campaigns.audience import visible
from campaigns.errors import CampaignNotRunning, WrongCampaignType
from campaigns.models import Campaign, CampaignStatus, CampaignType, CheckIn, PayoutReason
from campaigns.types import payouts
from loyalty.models import Member

HISTORY_DAYS = 62


@dataclass(frozen=True)
class CheckinState:
    """A member's check-in progress in one campaign."""

    campaign_id: int
    today: date
    checked_in_today: bool
    streak: int
    streak_days: int
    days: list[date]
    rewards: int
    payout: str | None = None


async def _campaign(member: Member, campaign_id: int, now: datetime) -> Campaign:
    campaign = await visible.get_visible(member, campaign_id, now)
    if campaign.type != CampaignType.CHECKIN:
        raise WrongCampaignType("this campaign has no check-in")
    return campaign


def _running(campaign: Campaign, now: datetime) -> None:
    if campaign.status != CampaignStatus.LIVE or not campaign.starts_at <= now < campaign.ends_at:
        raise CampaignNotRunning("check-ins are open while the campaign runs")


async def _state(
    campaign: Campaign, member_id: int, now: datetime, payout: str | None = None
) -> CheckinState:
    today = business_day(now)
    rows = await CheckIn.filter(
        campaign_id=campaign.id, member_id=member_id, business_day__gt=today - timedelta(days=HISTORY_DAYS)
    ).order_by("business_day")
    by_day = {r.business_day: r for r in rows}
    current = by_day.get(today) or by_day.get(today - timedelta(days=1))
    rewards = await payouts.member_payout_count(campaign.id, member_id)
    return CheckinState(
        campaign_id=campaign.id,
        today=today,
        checked_in_today=today in by_day,
        streak=current.streak if current else 0,
        streak_days=int(campaign.config["streak_days"]),
        days=[r.business_day for r in rows],
        rewards=rewards,
        payout=payout,
    )


async def progress(member_id: int, campaign_id: int) -> CheckinState:
    """The member's streak, recent check-in days and rewards earned."""
    now = utcnow()
    member = await Member.get(id=member_id)
    return await _state(await _campaign(member, campaign_id, now), member_id, now)


async def check_in(member_id: int, campaign_id: int) -> CheckinState:
    """Check in today (the second time the same day changes nothing); pays the reward on a full streak."""
    now = utcnow()
    member = await Member.get(id=member_id)
    campaign = await _campaign(member, campaign_id, now)
    _running(campaign, now)
    day = business_day(now)
    try:
        async with transaction():
            if await CheckIn.exists(campaign_id=campaign.id, member_id=member_id, business_day=day):
                return await _state(campaign, member_id, now)
            previous = await CheckIn.get_or_none(
                campaign_id=campaign.id, member_id=member_id, business_day=day - timedelta(days=1)
            )
            streak = previous.streak + 1 if previous else 1
            await CheckIn.create(
                campaign_id=campaign.id, member_id=member_id, business_day=day, streak=streak
            )
            outcome = None
            if streak % int(campaign.config["streak_days"]) == 0:
                result = await payouts.pay(
                    campaign,
                    member_id,
                    payouts.reward_of(campaign),
                    f"checkin:{member_id}:{day.isoformat()}",
                    PayoutReason.CHECKIN,
                    now,
                )
                outcome = result.outcome.value
            return await _state(campaign, member_id, now, outcome)
    except IntegrityError:  # a concurrent check-in of the same member and day won
        return await _state(campaign, member_id, now)
