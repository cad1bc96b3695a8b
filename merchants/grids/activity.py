"""Business activity at merchants (scans, sales, redemptions): what the grid dashboard flags inactive by."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import Q

from app.core.timeutil import utcnow
from merchants.models import Merchant

ACTIVITY_RESOLUTION = timedelta(minutes=5)


def recently_active(last_activity_at: datetime | None, at: datetime) -> bool:
    """Whether activity at `at` is already recorded closely enough (within `ACTIVITY_RESOLUTION`)."""
    return last_activity_at is not None and last_activity_at >= at - ACTIVITY_RESOLUTION


async def record_activity(merchant_id: int, at: datetime | None = None) -> None:
    """Note business activity at a merchant (scans, sales, redemptions): feeds the grid dashboard.

    Cheap on the hot path: the merchant row is written only when its last activity is older than
    `ACTIVITY_RESOLUTION`, so a busy till writes it a few times an hour, not once per sale.
    """
    at = at or utcnow()
    stale = Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at - ACTIVITY_RESOLUTION)
    await Merchant.filter(stale, id=merchant_id).update(last_activity_at=at)
