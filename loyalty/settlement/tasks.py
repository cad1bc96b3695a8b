"""Settlement jobs: build each business day's statements (Asia/Shanghai), catching up on missed days."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from arq.cron import CronJob, cron

from app.core.jobs import Job, job
from loyalty.settlement import statements as settlement

log = logging.getLogger("linli.loyalty")


@job("loyalty.build_settlement")
async def build_settlement(day: str) -> int:
    """Build (or complete) one business day's statements; running it again adds no line twice."""
    built = await settlement.build_day(date.fromisoformat(day))
    log.info("settlement built", extra={"business_day": day, "statements": built})
    return built


async def _settlement_cron(ctx: dict[str, Any]) -> None:
    for day in await settlement.days_due():
        await build_settlement(day.isoformat())


TASKS: list[Job] = [build_settlement]
CRON_JOBS: list[CronJob] = [cron(_settlement_cron, name="loyalty.settlement_cron", minute=20, unique=True)]
