"""Member jobs: keep the automatic tags (`new`, `dormant`) current and let tiers decay."""

from __future__ import annotations

from typing import Any

from arq.cron import CronJob, cron

from app.core.jobs import Job, job
from loyalty.ledger import postings as ledger
from loyalty.members import segments


@job("loyalty.refresh_segments")
async def refresh_segments(at: str | None = None) -> dict[str, int]:
    """Keep the automatic tags (`new`, `dormant`) current and let tiers decay as earnings age out."""
    now = ledger.as_of(at)
    changed = await segments.refresh_automatic_tags(now)
    changed["tiers"] = await segments.refresh_dropping_tiers(now)
    return changed


async def _segments_cron(ctx: dict[str, Any]) -> None:
    await segments.daily_maintenance()


TASKS: list[Job] = [refresh_segments]
CRON_JOBS: list[CronJob] = [cron(_segments_cron, name="loyalty.segments_cron", minute=35, unique=True)]
