"""Message jobs: the triggers Linli sends on its own (points and vouchers about to lapse), each event once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arq.cron import CronJob, cron
from tortoise.functions import Sum

from app.core.config import get_settings
from app.core.jobs import Job, job
from app.core.timeutil import business_day, utcnow
from loyalty.messages import broadcasts, channels, sending
from loyalty.models import MessageKind, PointsLot, Voucher, VoucherStatus

BATCH = 1000


def _as_of(at: str | None) -> datetime:
    return datetime.fromisoformat(at) if at else utcnow()


async def announce_expiring_points(now: datetime | None = None) -> int:
    """Tell each member of points expiring within the notice days, once per expiry date."""
    now = now or utcnow()
    until = now + timedelta(days=get_settings().message_points_notice_days)
    rows = (
        await PointsLot.filter(remaining__gt=0, expires_at__gt=now, expires_at__lte=until)
        .annotate(total=Sum("remaining"))
        .group_by("member_id", "expires_at")
        .values("member_id", "expires_at", "total")
    )
    totals: dict[tuple[int, str], int] = {}
    for row in rows:
        expires_on = business_day(row["expires_at"] - timedelta(microseconds=1)).isoformat()
        key = (int(row["member_id"]), expires_on)
        totals[key] = totals.get(key, 0) + int(row["total"] or 0)
    for (member_id, expires_on), points in sorted(totals.items()):
        await sending.send(
            member_id,
            MessageKind.POINTS_EXPIRING,
            {"points": points, "expires_on": expires_on},
            f"points_expiring:{member_id}:{expires_on}",
            now=now,
        )
    return len(totals)


async def announce_expiring_vouchers(now: datetime | None = None) -> int:
    """Tell the holder of each active voucher expiring within the notice days, once per voucher."""
    now = now or utcnow()
    until = now + timedelta(days=get_settings().message_voucher_notice_days)
    after, announced = 0, 0
    while True:
        vouchers = (
            await Voucher.filter(
                status=VoucherStatus.ACTIVE, valid_until__gt=now, valid_until__lte=until, id__gt=after
            )
            .order_by("id")
            .limit(BATCH)
            .prefetch_related("benefit")
        )
        for voucher in vouchers:
            await sending.send(
                voucher.member_id,
                MessageKind.VOUCHER_EXPIRING,
                {
                    "benefit": voucher.benefit.name,
                    "expires_on": business_day(voucher.valid_until).isoformat(),
                },
                f"voucher_expiring:{voucher.id}",
                now=now,
            )
        announced += len(vouchers)
        if len(vouchers) < BATCH:
            return announced
        after = vouchers[-1].id


@job("loyalty.announce_expiring")
async def announce_expiring(at: str | None = None) -> dict[str, int]:
    """Points and vouchers about to lapse, each announced once (safe to run twice)."""
    now = _as_of(at)
    return {
        "points": await announce_expiring_points(now),
        "vouchers": await announce_expiring_vouchers(now),
    }


async def _announce_cron(ctx: dict[str, Any]) -> None:
    await announce_expiring()


TASKS: list[Job] = [announce_expiring, sending.deliver_pending, channels.push, *broadcasts.TASKS]
CRON_JOBS: list[CronJob] = [
    cron(_announce_cron, name="loyalty.announce_expiring_cron", minute=5, unique=True),
    *broadcasts.CRON_JOBS,
]
