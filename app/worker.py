"""The arq worker: every domain's jobs, collected explicitly, plus cron jobs and background loops.

`WorkerRunner` keeps them running through Redis going away. arq's own loop ends at the first error of
its connection (a Redis restart, a failover) and nothing would start it again: the process would live on
without running a job or a cron. The runner waits for Redis to answer again and starts a fresh arq loop
on it (within a second of Redis being back); a background loop that fails is restarted too. When Redis
stays out of reach for `LINLI_WORKER_RECOVERY_TIMEOUT` seconds the runner gives up (`failed`), and the
process exits non-zero for its supervisor to restart it. Each worker writes a heartbeat
(`app.core.heartbeat`) that `/readyz` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.worker import Worker
from redis.exceptions import RedisError

from app.core import heartbeat
from app.core.config import get_settings
from app.core.jobs import BackgroundLoop, Job
from app.core.redis_client import make_client, revive_embedded
from app.wiring import PLUGINS

log = logging.getLogger("linli.worker")

# Catch-up bound after an outage: a cron every 2 s missed 20,000 runs in 11 hours.
_MAX_MISSED_RUNS = 20_000


def collect() -> tuple[list[Job], list[CronJob], list[BackgroundLoop]]:
    """Every job, cron job and background loop of every plugin."""
    tasks = [job for plugin in PLUGINS for job in plugin.jobs]
    crons = [cron for plugin in PLUGINS for cron in plugin.crons]
    loops = [loop for plugin in PLUGINS for loop in plugin.loops]
    return tasks, crons, loops


class _Worker(Worker):
    """arq's worker, noting when its loop last polled the queue (each iteration ends with `heart_beat`)."""

    last_poll: float | None = None

    async def heart_beat(self) -> None:
        """arq's health record and cron scheduling, then the time of this poll."""
        await super().heart_beat()
        self.last_poll = time.time()


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
    return _Worker(
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


def skip_to_latest_missed_run(crons: Sequence[CronJob], now: datetime) -> None:
    """After an outage, a cron whose runs fell into it runs once, at its latest missed time (the id every
    worker gives that run, so they still run it once between them), not once per missed time."""
    for cron_job in crons:
        latest = cron_job.next_run
        if latest is None or latest >= now:
            continue
        for _ in range(_MAX_MISSED_RUNS):
            cron_job.calculate_next(latest)
            assert cron_job.next_run is not None
            if cron_job.next_run > now:
                break
            latest = cron_job.next_run
        cron_job.next_run = latest


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))


class WorkerRunner:
    """Runs the arq worker and the background loops inside an event loop, through Redis outages, and
    stops them cleanly."""

    def __init__(self, redis_url: str, *, embedded: bool = False) -> None:
        settings = get_settings()
        # The worker owns its pool: arq closes it on shutdown, the shared client stays open. A Redis that
        # hangs instead of refusing must fail its commands too, so the runner notices.
        self.redis = make_client(redis_url, max_connections=64, socket_timeout=15, socket_connect_timeout=5)
        self.worker = build_worker(self.redis)
        self.retired: list[Worker] = []  # arq loops that failed; their running jobs finish on their own
        self.recovery_timeout = settings.worker_recovery_timeout
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.embedded = embedded
        self.started_at = time.time()
        self.restarts = 0
        self.stop_event = asyncio.Event()
        self.failed = asyncio.Event()  # set when Redis stayed out of reach: the process should exit
        self.tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Start polling the queue, the heartbeat and every background loop."""
        self.tasks.append(asyncio.create_task(self._run_arq(), name="arq-worker"))
        self.tasks.append(asyncio.create_task(self._heartbeat(), name="worker-heartbeat"))
        for loop in collect()[2]:
            name = getattr(loop, "__name__", "loop")
            self.tasks.append(asyncio.create_task(self._keep_running(loop, name), name=name))

    async def _run_arq(self) -> None:
        """arq's loop, started again on a fresh worker whenever it fails, until Redis stays away."""
        down_since: float | None = None
        while not self.stop_event.is_set():
            worker = self.worker
            try:
                await worker.main()
                return
            except Exception as exc:
                if self.stop_event.is_set():
                    return
                if getattr(worker, "last_poll", None) is not None or down_since is None:
                    down_since = time.monotonic()  # it was working: a new outage starts now
                log.warning(
                    "job worker lost its loop; reconnecting to redis",
                    extra={"worker": self.name, "error": repr(exc)},
                )
            left = self.recovery_timeout - (time.monotonic() - down_since)
            if not await self._reconnect(left):
                log.critical(
                    "job worker gave up: redis out of reach for %ss",
                    self.recovery_timeout,
                    extra={"worker": self.name},
                )
                self.failed.set()
                return
            if self.stop_event.is_set():
                return
            self.retired.append(worker)
            self.worker = build_worker(self.redis)
            skip_to_latest_missed_run(self.worker.cron_jobs, datetime.now(tz=self.worker.timezone))
            self.restarts += 1
            log.warning("job worker resumed", extra={"worker": self.name, "restarts": self.restarts})

    async def _reconnect(self, seconds: float) -> bool:
        """Wait until Redis answers (True) or `seconds` pass (False); a short pause either way, so a loop
        failing for another reason does not spin."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        await _sleep(self.stop_event, 0.2)
        while not self.stop_event.is_set():
            # Connections to the old server are dead: drop the idle ones rather than meet each in turn.
            await self.redis.connection_pool.disconnect(inuse_connections=False)
            try:
                revive_embedded()  # `make run`: this process's own server died, nobody else restarts it
            except Exception as exc:
                log.warning("embedded redis did not start again", extra={"error": repr(exc)})
            try:
                await asyncio.wait_for(self.redis.ping(), timeout=2)
                return True
            except (RedisError, OSError):
                pass
            if loop.time() >= deadline:
                return False
            await _sleep(self.stop_event, min(0.5, deadline - loop.time()))
        return True

    def status(self) -> dict[str, Any]:
        """What the heartbeat says about this worker."""
        workers = [*self.retired, self.worker]
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "embedded": self.embedded,
            "started_at": self.started_at,
            "last_poll": getattr(self.worker, "last_poll", None),
            "restarts": self.restarts,
            "jobs_complete": sum(w.jobs_complete for w in workers),
            "jobs_failed": sum(w.jobs_failed for w in workers),
            "jobs_retried": sum(w.jobs_retried for w in workers),
            "jobs_ongoing": sum(not t.done() for w in workers for t in w.tasks.values()),
        }

    async def _heartbeat(self) -> None:
        unwritten = False
        while not self.stop_event.is_set():
            try:
                await heartbeat.beat(self.redis, self.name, self.status())
                unwritten = False
            except (RedisError, OSError) as exc:
                if not unwritten:  # once per outage
                    log.warning(
                        "worker heartbeat not written", extra={"worker": self.name, "error": repr(exc)}
                    )
                    unwritten = True
            await _sleep(self.stop_event, heartbeat.INTERVAL)

    async def _keep_running(self, loop: BackgroundLoop, name: str) -> None:
        """A background loop, started again (after a growing pause) if it fails or returns early."""
        pause = 1.0
        while not self.stop_event.is_set():
            try:
                await loop(self.stop_event)
            except Exception:
                log.exception("background loop %s failed; restarting it", name)
            if self.stop_event.is_set():
                return
            await _sleep(self.stop_event, pause)
            pause = min(pause * 2, 30.0)

    async def stop(self) -> None:
        """Stop the loops, let running jobs finish, close the worker's pool (also with Redis gone)."""
        self.stop_event.set()
        arq_loop = self.tasks[0] if self.tasks else None
        if arq_loop is not None:
            arq_loop.cancel()
            await asyncio.gather(arq_loop, return_exceptions=True)
        for retired in self.retired:
            retired.handle_sig(signal.SIGUSR1)  # cancels what still runs there, as close() does below
            await asyncio.gather(*retired.tasks.values(), return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await asyncio.wait_for(self.redis.delete(heartbeat.worker_key(self.name)), timeout=2)
            await asyncio.wait_for(self.redis.zrem(heartbeat.INDEX, self.name), timeout=2)
        try:
            await asyncio.wait_for(self.worker.close(), timeout=30)
        except (RedisError, OSError):
            await self.redis.aclose(close_connection_pool=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
