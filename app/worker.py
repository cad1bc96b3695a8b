"""The arq worker: every domain's jobs, collected explicitly, plus cron jobs and background loops."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.worker import Worker

from app.core.config import get_settings
from app.core.jobs import BackgroundLoop, Job
from app.core.redis_client import make_client
from app.wiring import PLUGINS

log = logging.getLogger("linli.worker")


def collect() -> tuple[list[Job], list[CronJob], list[BackgroundLoop]]:
    """Every job, cron job and background loop of every plugin."""
    tasks = [job for plugin in PLUGINS for job in plugin.jobs]
    crons = [cron for plugin in PLUGINS for cron in plugin.crons]
    loops = [loop for plugin in PLUGINS for loop in plugin.loops]
    return tasks, crons, loops


def build_worker(
    redis: ArqRedis,
    *,
    burst: bool = False,
    poll_delay: float = 0.2,
    extra_jobs: list[Job] | None = None,
    with_cron: bool = True,
) -> Worker:
    """An arq worker for all domains on the given connection pool (tests may add jobs)."""
    tasks, crons, _ = collect()
    return Worker(
        functions=[t.function for t in [*tasks, *(extra_jobs or [])]],
        cron_jobs=crons if with_cron else None,
        redis_pool=redis,
        burst=burst,
        poll_delay=poll_delay,
        handle_signals=False,
        max_jobs=50,
        # Also the default for cron jobs, so a dead worker's jobs come back after job_timeout + 10 s.
        job_timeout=get_settings().job_timeout,
        keep_result=3600,
        allow_abort_jobs=False,
    )


class WorkerRunner:
    """Runs the arq worker and the background loops inside an event loop, and stops them cleanly."""

    def __init__(self, redis_url: str) -> None:
        # The worker owns its pool: arq closes it on shutdown, the shared client stays open.
        self.worker = build_worker(make_client(redis_url, max_connections=64))
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Start polling the queue and every background loop."""
        self.tasks.append(asyncio.create_task(self.worker.main(), name="arq-worker"))
        for loop in collect()[2]:
            self.tasks.append(
                asyncio.create_task(loop(self.stop_event), name=getattr(loop, "__name__", "loop"))
            )

    async def stop(self) -> None:
        """Stop the loops, let running jobs finish, close the worker's pool."""
        self.stop_event.set()
        await self.worker.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
