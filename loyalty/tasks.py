"""Loyalty jobs: expiring points (fanned out per batch of members), settlement, automatic tags and tiers.

Crons run hourly and do only what is due, so a worker that was down catches up, and the schedule does
not depend on the worker's time zone (business days are Asia/Shanghai).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from arq.cron import CronJob, cron

from app.core.db import transaction
from app.core.jobs import Job, enqueue, job
from loyalty import ledger, segments, settlement
from loyalty.models import PointsLot

log = logging.getLogger("linli.loyalty")

EXPIRY_BATCH = 200


@job("loyalty.expire_points")
async def expire_points(at: str | None = None) -> int:
    """Find members holding lots expired at `at` (default now) and queue their expiry in batches."""
    now = ledger.as_of(at)
    queued, after = 0, 0
    while True:
        batch: list[int] = [
            int(row["member_id"])
            for row in await PointsLot.filter(remaining__gt=0, expires_at__lte=now, member_id__gt=after)
            .order_by("member_id")
            .distinct()
            .limit(EXPIRY_BATCH)
            .values("member_id")
        ]
        if not batch:
            return queued
        async with transaction():
            await enqueue(expire_members, batch, now.isoformat())
        queued += len(batch)
        after = batch[-1]


@job("loyalty.expire_members")
async def expire_members(member_ids: list[int], at: str) -> int:
    """Retire the expired lots of these members, one transaction each (running twice retires nothing more)."""
    now = ledger.as_of(at)
    retired = 0
    for member_id in member_ids:
        posting = await ledger.expire_member(member_id, now)
        retired += posting.points if posting else 0
    if retired:
        log.info("points expired", extra={"members": len(member_ids), "points": retired})
    return retired


@job("loyalty.build_settlement")
async def build_settlement(day: str) -> int:
    """Build (or complete) one business day's statements; running it again adds no line twice."""
    built = await settlement.build_day(date.fromisoformat(day))
    log.info("settlement built", extra={"business_day": day, "statements": built})
    return built


@job("loyalty.refresh_segments")
async def refresh_segments(at: str | None = None) -> dict[str, int]:
    """Keep the automatic tags (`new`, `dormant`) current and let tiers decay as earnings age out."""
    now = ledger.as_of(at)
    changed = await segments.refresh_automatic_tags(now)
    changed["tiers"] = await segments.refresh_dropping_tiers(now)
    return changed


async def _segments_cron(ctx: dict[str, Any]) -> None:
    await segments.daily_maintenance()


async def _expire_cron(ctx: dict[str, Any]) -> None:
    await expire_points()


async def _settlement_cron(ctx: dict[str, Any]) -> None:
    for day in await settlement.days_due():
        await build_settlement(day.isoformat())


TASKS: list[Job] = [expire_points, expire_members, build_settlement, refresh_segments]
CRON_JOBS: list[CronJob] = [
    cron(_expire_cron, name="loyalty.expire_points_cron", minute=5, unique=True),
    cron(_settlement_cron, name="loyalty.settlement_cron", minute=20, unique=True),
    cron(_segments_cron, name="loyalty.segments_cron", minute=35, unique=True),
]
