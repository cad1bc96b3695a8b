"""Process resources: database pool, shared Redis client and (optionally) the in-process worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.config import Settings
from app.db import close_db, init_db
from app.redis_client import close_redis, init_redis, resolved_redis_url
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
