"""Time: storage and arithmetic in UTC; business days in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def business_day(at: datetime | None = None) -> date:
    """The Asia/Shanghai calendar day an instant falls on."""
    return (at or utcnow()).astimezone(BUSINESS_TZ).date()


def business_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC [start, end) instants of an Asia/Shanghai business day."""
    start = datetime.combine(day, time.min, tzinfo=BUSINESS_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)
