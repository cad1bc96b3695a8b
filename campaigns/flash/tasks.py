"""Flash jobs: the on-demand preheat, the maintenance the scheduler tick runs, and the persister loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from app.core.config import get_settings
from app.core.jobs import BackgroundLoop, Job, job
from app.core.redis_client import get_redis
from app.core.sql import column
from app.core.timeutil import utcnow
from campaigns.flash import audience, orders, payments, stats
from campaigns.flash import install as flash_install
from campaigns.flash.keys import ACTIVE_SET, k
from campaigns.flash.persistence import persist_loop, stream_backlog
from campaigns.lifecycle.table import RUNNING
from campaigns.models import Campaign, CampaignStatus, CampaignType

log = logging.getLogger("linli.campaigns")


@job("campaigns.preheat")
async def preheat(campaign_id: int) -> str:
    """Load a flash campaign into Redis (safe to run twice: a second run only refreshes)."""
    return await flash_install.ensure_loaded(campaign_id)


async def maintain_flash() -> None:
    """Preheat campaigns about to start, rebuild lost ones, refresh running ones, snapshot their counters,
    and expire unpaid orders past their deadline (the backstop of each batch's deferred expiry job)."""
    now = utcnow()
    expired = await orders.expire_overdue(now)
    if expired:
        log.info("flash orders expired by the sweeper", extra={"orders": expired})
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
        loaded = await stats.snapshot_stats(active)
        status = await column(Campaign.filter(id=active).values_list("status", flat=True))
        finished = not status or CampaignStatus(status[0]) not in RUNNING
        if finished and (not loaded or await stream_backlog(active) == 0):
            # Nothing left to persist: the persister may stop following this campaign.
            await redis.srem(ACTIVE_SET, active)  # type: ignore[misc]
        elif not loaded and not await redis.exists(k(active, "stream")):
            await redis.srem(ACTIVE_SET, active)  # type: ignore[misc]


TASKS: list[Job] = [
    preheat,
    audience.on_segments_changed,
    orders.return_slot,
    orders.expire_due,
    orders.refund_unpaid_job,
    payments.settle,
]
LOOPS: list[BackgroundLoop] = [persist_loop]
