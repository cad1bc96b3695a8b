"""The scheduler tick: start and end campaigns on the clock, then maintain the loaded flash campaigns."""

from __future__ import annotations

import logging
from typing import Any

from arq.cron import CronJob, cron

from campaigns.flash.tasks import maintain_flash
from campaigns.management import service

log = logging.getLogger("linli.campaigns")


async def _tick(ctx: dict[str, Any]) -> None:
    moved = await service.tick()
    if moved:
        log.info("campaign lifecycle moved %s", moved)
    await maintain_flash()


# No timeout of its own: the worker's job timeout applies, and with it arq's in-progress mark of every
# job (the longest timeout + 10 s), which decides how soon a dead worker's jobs are taken back.
CRON_JOBS: list[CronJob] = [cron(_tick, name="campaigns.tick", second=set(range(0, 60, 2)), unique=True)]
