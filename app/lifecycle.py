"""Process lifetimes: the resources of every process (database pool, shared Redis client, optionally the
in-process worker) and the standalone worker process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.core.config import Settings
from app.core.db import close_db, init_db
from app.core.redis_client import close_redis, init_redis, resolved_redis_url
from app.wiring import wire
from app.worker import WorkerRunner

log = logging.getLogger("linli")


_worker_failed = False
_server: Any = None


@asynccontextmanager
async def resources(
    settings: Settings, *, with_worker: bool, embedded: bool = False
) -> AsyncIterator[WorkerRunner | None]:
    """Open the database and Redis for this process; run the job worker too when asked."""
    await init_db(settings)
    runner: WorkerRunner | None = None
    try:
        await init_redis(settings)
        if with_worker:
            runner = WorkerRunner(resolved_redis_url(settings), embedded=embedded)
            await runner.start()
        yield runner
    finally:
        if runner is not None:
            await runner.stop()
        await close_redis()
        await close_db()


def serve_with(server: Any) -> None:
    """The uvicorn server of this process (`linli serve`, one process), stopped if its worker gives up."""
    global _server
    _server = server


def worker_failed() -> bool:
    """Whether this process's job worker gave up (the process should exit non-zero)."""
    return _worker_failed


async def stop_server_when_worker_fails(runner: WorkerRunner) -> None:
    """An API process with an embedded worker that gave up shuts down (as on SIGTERM), and `linli serve`
    then exits with status 1 for its supervisor to restart it."""
    global _worker_failed
    await runner.failed.wait()
    _worker_failed = True
    log.critical("embedded job worker gave up: shutting the server down")
    if _server is not None:
        _server.should_exit = True  # a graceful shutdown, after which `linli serve` exits 1
    else:
        os.kill(os.getpid(), signal.SIGTERM)  # a process of a supervisor (uvicorn's, with several workers)


async def run_worker(settings: Settings) -> int:
    """`linli worker`: a standalone worker process until SIGTERM or SIGINT (0), or until its Redis stayed
    out of reach for LINLI_WORKER_RECOVERY_TIMEOUT seconds (1)."""
    global _worker_failed
    wire()
    async with resources(settings, with_worker=True) as runner:
        assert runner is not None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("worker started")
        waits = [asyncio.create_task(stop.wait()), asyncio.create_task(runner.failed.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        _worker_failed = runner.failed.is_set()
        log.log(logging.CRITICAL if _worker_failed else logging.INFO, "worker stopping")
        exit_if_still_running(settings.job_timeout)
    return 1 if _worker_failed else 0


def exit_if_still_running(seconds: float) -> threading.Timer:
    """Make sure a stopping process is gone within `seconds`: running jobs get that long to finish (they
    are safe to run again), but a job or loop that ignores its cancellation, or blocks the event loop,
    must not keep the process alive past its supervisor's patience. A thread, so a blocked loop cannot
    stop it."""

    def give_up() -> None:
        log.critical("still running %ss after the stop was asked: exiting now", seconds)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer
