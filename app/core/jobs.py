"""Jobs: the `@job` decorator, the transactional outbox, retries and the dead-job record.

Services call `await enqueue(some_job, *args)` inside `app.core.db.transaction()`. The request is written to
the outbox table in that transaction and sent to arq only after commit; a rollback sends nothing,
and the sweeper resends whatever a crash left behind. arq delivers at least once, so every job
must be safe to run twice.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from arq import Retry
from arq.cron import CronJob, cron
from arq.worker import Function, func

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.db import db, on_commit, transaction
from app.core.errors import NotFound
from app.core.models import DeadJob, OutboxMessage
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow

log = logging.getLogger("linli.jobs")

JOB_METRICS_KEY = "linli:metrics:jobs"
OUTBOX_PREFIX = "outbox:"
SWEEP_GRACE = timedelta(seconds=5)

# A background loop runs for the worker's lifetime (stream consumers); it must return when `stop` is set.
BackgroundLoop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class PermanentFailure(Exception):
    """A failure retrying cannot fix (a rejected configuration): the job is recorded dead at once for ops."""


def default_backoff(job_try: int) -> float:
    """Seconds before retry number `job_try + 1`: 1, 2, 4 … capped at five minutes."""
    return float(min(2 ** (job_try - 1), 300))


@dataclass
class Job:
    """A registered job: the plain coroutine plus its queue name and retry policy."""

    fn: Callable[..., Awaitable[Any]]
    name: str
    max_tries: int
    timeout: int
    backoff: Callable[[int], float] = default_backoff
    _function: Function | None = field(default=None, repr=False)

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the job body directly (tests, synchronous fallbacks)."""
        return await self.fn(*args, **kwargs)

    async def run(self, ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """arq entry point: run, count, retry with backoff, and record the job dead when tries run out."""
        job_id = str(ctx.get("job_id"))
        job_try = int(ctx.get("job_try", 1))
        redis = get_redis()
        if job_try > self.max_tries:
            await _bury(self, job_id, job_try, args, kwargs, "worker lost the job on every try")
            return None
        try:
            result = await self.fn(*args, **kwargs)
        except Retry:
            raise
        except PermanentFailure as exc:
            await redis.hincrby(JOB_METRICS_KEY, f"{self.name}|failed", 1)  # type: ignore[misc]
            await _bury(self, job_id, job_try, args, kwargs, repr(exc))
            return None
        except Exception as exc:
            await redis.hincrby(JOB_METRICS_KEY, f"{self.name}|failed", 1)  # type: ignore[misc]
            log.warning(
                "job failed",
                extra={"job_id": job_id, "job": self.name, "try": job_try, "error": repr(exc)},
                exc_info=exc,
            )
            if job_try >= self.max_tries:
                await _bury(self, job_id, job_try, args, kwargs, traceback.format_exc())
                return None
            raise Retry(defer=self.backoff(job_try)) from exc
        await redis.hincrby(JOB_METRICS_KEY, f"{self.name}|ok", 1)  # type: ignore[misc]
        if job_id.startswith(OUTBOX_PREFIX):
            await OutboxMessage.filter(id=int(job_id.removeprefix(OUTBOX_PREFIX))).delete()
        return result

    @property
    def function(self) -> Function:
        """The arq worker function (one more try than ours so that we record the dead job)."""
        if self._function is None:
            self._function = func(
                self.run, name=self.name, max_tries=self.max_tries + 1, timeout=self.timeout
            )
        return self._function


async def _bury(job: Job, job_id: str, tries: int, args: Any, kwargs: Any, error: str) -> None:
    await get_redis().hincrby(JOB_METRICS_KEY, f"{job.name}|dead", 1)  # type: ignore[misc]
    log.error("job dead after %s tries", tries, extra={"job_id": job_id, "job": job.name})
    await DeadJob.update_or_create(
        job_id=job_id,
        defaults={
            "job_name": job.name,
            "args": list(args),
            "kwargs": dict(kwargs),
            "tries": tries,
            "error": error[-8000:],
        },
    )
    if job_id.startswith(OUTBOX_PREFIX):
        await OutboxMessage.filter(id=int(job_id.removeprefix(OUTBOX_PREFIX))).delete()


def job(
    name: str | None = None,
    *,
    max_tries: int | None = None,
    timeout: int | None = None,
    backoff: Callable[[int], float] = default_backoff,
) -> Callable[[Callable[..., Awaitable[Any]]], Job]:
    """Declare a job; its body takes only its own JSON-serialisable arguments."""

    def wrap(fn: Callable[..., Awaitable[Any]]) -> Job:
        settings = get_settings()
        return Job(
            fn=fn,
            name=name or f"{fn.__module__}.{fn.__name__}",
            max_tries=max_tries or settings.job_max_tries,
            timeout=timeout or settings.job_timeout,
            backoff=backoff,
        )

    return wrap


async def enqueue(job: Job, *args: Any, defer_seconds: int = 0, **kwargs: Any) -> int:
    """Ask for `job`; it is sent when the enclosing transaction commits (at once outside one)."""
    message = await OutboxMessage.create(
        job_name=job.name,
        args=list(args),
        kwargs=kwargs,
        defer_seconds=defer_seconds,
        using_db=db(),
    )

    async def send() -> None:
        await _send([message])

    if not on_commit(send):
        await send()
    return int(message.id)


async def requeue_dead(actor: Principal, dead_id: int) -> OutboxMessage:
    """Send a dead job again with its arguments (every job is safe to run twice); its dead record goes,
    the audit log keeps what it was."""
    async with transaction():
        dead = await DeadJob.get_or_none(id=dead_id)
        if dead is None:
            raise NotFound("dead job not found")
        message = await OutboxMessage.create(
            job_name=dead.job_name, args=dead.args, kwargs=dead.kwargs, defer_seconds=0, using_db=db()
        )
        await DeadJob.filter(id=dead_id).using_db(db()).delete()
        await audit.record(
            actor,
            "job.requeue",
            "dead_job",
            dead_id,
            before={"job_id": dead.job_id, "job_name": dead.job_name, "tries": dead.tries},
            after={"outbox_id": message.id},
        )

        async def send() -> None:
            await _send([message])

        on_commit(send)
    return message


async def _send(messages: list[OutboxMessage]) -> None:
    redis = get_redis()
    for message in messages:
        await redis.enqueue_job(
            message.job_name,
            *message.args,
            _job_id=f"{OUTBOX_PREFIX}{message.id}",
            _defer_by=message.defer_seconds or None,
            **message.kwargs,
        )
    await OutboxMessage.filter(id__in=[m.id for m in messages]).update(sent_at=utcnow())


async def sweep_outbox(limit: int = 500) -> int:
    """Send outbox messages that missed their after-commit flush, and resend ones whose job got lost."""
    now = utcnow()
    settings = get_settings()
    unsent = await OutboxMessage.filter(sent_at__isnull=True, created_at__lt=now - SWEEP_GRACE).limit(limit)
    # A sent message still here after its deferral and a job timeout was probably lost with Redis;
    # arq refuses a duplicate job id while the original is still queued or running.
    stale_before = now - timedelta(seconds=2 * settings.job_timeout)
    stale = [
        m
        for m in await OutboxMessage.filter(sent_at__lt=stale_before).limit(limit)
        if m.sent_at is not None and m.sent_at + timedelta(seconds=m.defer_seconds) < stale_before
    ]
    batch = unsent + stale
    if batch:
        await _send(batch)
    return len(batch)


async def _sweep_outbox_cron(ctx: dict[str, Any]) -> None:
    sent = await sweep_outbox()
    if sent:
        log.info("outbox sweep sent %s messages", sent)


async def purge_expired_idempotency_keys() -> int:
    """Delete idempotency records past their retention (24 h by default)."""
    from app.core.models import IdempotencyRecord

    return int(await IdempotencyRecord.filter(expires_at__lt=utcnow()).delete())


async def _purge_idempotency_cron(ctx: dict[str, Any]) -> None:
    await purge_expired_idempotency_keys()


CORE_CRON_JOBS: list[CronJob] = [
    cron(_sweep_outbox_cron, name="core.sweep_outbox", second=set(range(0, 60, 10)), unique=True),
    cron(_purge_idempotency_cron, name="core.purge_idempotency", minute={7}, second={0}, unique=True),
]
