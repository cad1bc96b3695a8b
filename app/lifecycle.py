"""Process lifetimes: the resources of every process (database pool, shared Redis client, optionally the
in-process worker) and the standalone worker process."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.core.config import Settings
from app.core.db import close_db, init_db
from app.core.redis_client import close_redis, init_redis, resolved_redis_url
from app.wiring import wire
from app.worker import WorkerRunner

log = logging.getLogger("linli")


@asynccontextmanager
async def resources(settings: Settings, *, with_worker: bool) -> AsyncIterator[WorkerRunner | None]:
    """Open the database and Redis for this process; run the job worker too when asked."""
    await init_db(settings)
    runner: WorkerRunner | None = None
    try:
        await init_redis(settings)
        if with_worker:
            runner = WorkerRunner(resolved_redis_url(settings))
            await runner.start()
        yield runner
    finally:
        if runner is not None:
            await runner.stop()
        await close_redis()
        await close_db()


async def run_worker(settings: Settings) -> None:
    """`linli worker`: a standalone worker process until SIGTERM or SIGINT."""
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
