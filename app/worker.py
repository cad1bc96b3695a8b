"""The arq worker: every domain's jobs, collected explicitly, plus cron jobs and background loops."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.worker import Worker

from app.config import Settings, get_settings
from app.jobs import CORE_CRON_JOBS, Job
from app.redis_client import make_client
from app.wiring import wire

log = logging.getLogger("linli.worker")

# A background loop runs for the worker's lifetime (stream consumers); it must return when `stop` is set.
BackgroundLoop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def collect() -> tuple[list[Job], list[CronJob], list[BackgroundLoop]]:
    """Every job, cron job and background loop of every domain."""
    from campaigns import tasks as campaign_tasks
    from loyalty import tasks as loyalty_tasks
    from merchants import tasks as merchant_tasks
    from miniprogram_api.billpay import tasks as billpay_tasks

    domains = (merchant_tasks, loyalty_tasks, campaign_tasks, billpay_tasks)
    tasks: list[Job] = [job for domain in domains for job in domain.TASKS]
    crons: list[CronJob] = [*CORE_CRON_JOBS, *(cron for domain in domains for cron in domain.CRON_JOBS)]
    loops: list[BackgroundLoop] = [*campaign_tasks.LOOPS]
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


async def run_worker(settings: Settings) -> None:
    """`linli worker`: a standalone worker process until SIGTERM or SIGINT."""
    from app.lifecycle import resources

    wire()
    async with resources(settings, with_worker=True) as runner:
        assert runner is not None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("worker started")
        await stop.wait()
        log.info("worker stopping")
