"""Nearby-index jobs: keep it in step with the database, and rebuild it when Redis lost it."""

from __future__ import annotations

import logging
from typing import Any

from arq.cron import CronJob, cron

from app.core.jobs import Job
from merchants.discovery import index as discovery
from merchants.discovery.index import rebuild_geo_index, sync_store_index

log = logging.getLogger("linli.merchants.tasks")


async def _ensure_geo_index(ctx: dict[str, Any]) -> None:
    if not await discovery.index_present():
        log.warning("store geo index missing: rebuilding")
        await discovery.rebuild_index()


async def _nightly_geo_rebuild(ctx: dict[str, Any]) -> None:
    # Also lays the index out again in geohash order, which the day's edits have scattered.
    await discovery.rebuild_index()


TASKS: list[Job] = [sync_store_index, rebuild_geo_index]
CRON_JOBS: list[CronJob] = [
    cron(_ensure_geo_index, name="merchants.ensure_geo_index", second={5}, unique=True),
    # 03:40 in Shanghai, the quietest hour of a local-life platform.
    cron(_nightly_geo_rebuild, name="merchants.nightly_geo_rebuild", hour={19}, minute={40}, unique=True),
]
