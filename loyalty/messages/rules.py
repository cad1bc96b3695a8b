"""Delivery rules: who may get a message now, and why not (consent, opt-out, quiet hours, caps)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from app.core.config import get_settings
from app.core.timeutil import BUSINESS_TZ, business_day, business_day_bounds
from loyalty.messages.templates import Category, capped_kinds, category_of
from loyalty.models import DeliveryStatus, Member, MessageDelivery, MessageKind, MessageOptOut

NOT_MEMBER = "not_member"
OPTED_OUT = "opted_out"
NO_CONSENT = "no_consent"
QUIET_HOURS = "quiet_hours"
DAILY_CAP = "daily_cap"
WEEKLY_CAP = "weekly_cap"
REASONS = (NOT_MEMBER, OPTED_OUT, NO_CONSENT, QUIET_HOURS, DAILY_CAP, WEEKLY_CAP)


def in_quiet_hours(at: datetime) -> bool:
    """Whether `at` falls in the quiet hours (Asia/Shanghai)."""
    settings = get_settings()
    start, end = settings.message_quiet_start_hour, settings.message_quiet_end_hour
    hour = at.astimezone(BUSINESS_TZ).hour
    if start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def quiet_hours_end(at: datetime) -> datetime:
    """The next end of the quiet hours after `at` (UTC)."""
    local = at.astimezone(BUSINESS_TZ)
    morning = datetime.combine(local.date(), time(get_settings().message_quiet_end_hour), tzinfo=BUSINESS_TZ)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(at.tzinfo)


async def _sent_since(member_id: int, since: datetime) -> int:
    return await MessageDelivery.filter(
        member_id=member_id, status=DeliveryStatus.SENT, sent_at__gte=since, kind__in=capped_kinds()
    ).count()


async def suppression(member: Member, kind: MessageKind, now: datetime) -> str | None:
    """Why `member` may not get a `kind` message now (None: send it); the caller holds the member's lock."""
    category = category_of(kind)
    # Service and requested messages follow what the person did or asked for; the platform's own
    # nudges and offers go to members of the alliance only.
    if member.joined_at is None and category in (Category.NUDGE, Category.PROMOTIONAL):
        return NOT_MEMBER
    if category is not Category.SERVICE and await MessageOptOut.exists(member_id=member.id, kind=kind):
        return OPTED_OUT
    if category is Category.PROMOTIONAL:
        if not member.marketing:
            return NO_CONSENT
        if in_quiet_hours(now):
            return QUIET_HOURS
    if category in (Category.NUDGE, Category.PROMOTIONAL):
        settings = get_settings()
        day_start, _ = business_day_bounds(business_day(now))
        if (
            settings.message_daily_cap
            and await _sent_since(member.id, day_start) >= settings.message_daily_cap
        ):
            return DAILY_CAP
        week_start = now - timedelta(days=7)
        if (
            settings.message_weekly_cap
            and await _sent_since(member.id, week_start) >= settings.message_weekly_cap
        ):
            return WEEKLY_CAP
    return None
