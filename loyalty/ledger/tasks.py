"""Ledger jobs: expiring points, fanned out per batch of members.

The cron runs hourly and does only what is due, so a worker that was down catches up.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.cron import CronJob, cron

from app.core.db import transaction
from app.core.jobs import Job, enqueue, job
from loyalty.ledger import postings as ledger
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


async def _expire_cron(ctx: dict[str, Any]) -> None:
    await expire_points()


TASKS: list[Job] = [expire_points, expire_members]
CRON_JOBS: list[CronJob] = [cron(_expire_cron, name="loyalty.expire_points_cron", minute=5, unique=True)]
