"""Campaign jobs: the on-demand preheat, the scheduler tick and the flash persister loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from arq.cron import CronJob, cron

from app.core.config import get_settings
from app.core.jobs import BackgroundLoop, Job, job
from app.core.redis_client import get_redis
from app.core.sql import column
from app.core.timeutil import utcnow
from campaigns import (
    analytics,
    flash_audience,
    flash_install,
    multiplier,
    referral,
    sale_listener,
    service,
    spend_and_get,
)
from campaigns.flash_keys import ACTIVE_SET, k
from campaigns.flash_persist import persist_loop, stream_backlog
from campaigns.lifecycle import RUNNING
from campaigns.models import Campaign, CampaignStatus, CampaignType

log = logging.getLogger("linli.campaigns")


@job("campaigns.preheat")
async def preheat(campaign_id: int) -> str:
    """Load a flash campaign into Redis (safe to run twice: a second run only refreshes)."""
    return await flash_install.ensure_loaded(campaign_id)


async def maintain_flash() -> None:
    """Preheat campaigns about to start, rebuild lost ones, refresh running ones, snapshot their counters."""
    now = utcnow()
    lead = timedelta(seconds=get_settings().flash_preheat_seconds)
    query = Campaign.filter(type=CampaignType.FLASH, status__in=list(RUNNING), starts_at__lte=now + lead)
    due = [int(c) for c in await column(query.values_list("id", flat=True))]
    results = await asyncio.gather(*(flash_install.ensure_loaded(c) for c in due), return_exceptions=True)
    for campaign_id, result in zip(due, results, strict=True):
        if isinstance(result, BaseException):
            log.error("flash load failed", extra={"campaign_id": campaign_id}, exc_info=result)
    redis = get_redis()
    for raw in await redis.smembers(ACTIVE_SET):  # type: ignore[misc]
        active = int(raw)
        loaded = await analytics.snapshot_stats(active)
        status = await column(Campaign.filter(id=active).values_list("status", flat=True))
        finished = not status or CampaignStatus(status[0]) not in RUNNING
        if finished and (not loaded or await stream_backlog(active) == 0):
            # Nothing left to persist: the persister may stop following this campaign.
            await redis.srem(ACTIVE_SET, active)  # type: ignore[misc]
        elif not loaded and not await redis.exists(k(active, "stream")):
            await redis.srem(ACTIVE_SET, active)  # type: ignore[misc]


async def _tick(ctx: dict[str, Any]) -> None:
    moved = await service.tick()
    if moved:
        log.info("campaign lifecycle moved %s", moved)
    await maintain_flash()


# The per-type sale jobs stay registered so that messages sent before `campaigns.on_sale` still run.
TASKS: list[Job] = [
    preheat,
    sale_listener.on_sale,
    sale_listener.on_sale_refunded,
    flash_audience.on_segments_changed,
    multiplier.on_sale,
    spend_and_get.on_sale,
    referral.on_sale,
]
# No timeout of its own: the worker's job timeout applies, and with it arq's in-progress mark of every
# job (the longest timeout + 10 s), which decides how soon a dead worker's jobs are taken back.
CRON_JOBS: list[CronJob] = [cron(_tick, name="campaigns.tick", second=set(range(0, 60, 2)), unique=True)]
LOOPS: list[BackgroundLoop] = [persist_loop]
