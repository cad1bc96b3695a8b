"""The transactional outbox and the job runner: rollback sends nothing, commits are never lost,
jobs run twice have one effect, failing jobs retry and end up recorded as dead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.db import transaction
from app.core.jobs import JOB_METRICS_KEY, enqueue, job, sweep_outbox
from app.core.models import AuditEntry, DeadJob, OutboxMessage
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from tests.helpers import run_jobs

QUEUE = "arq:queue"


@job("test.record_effect")
async def record_effect(tag: str) -> None:
    """Idempotent: at most one audit entry per tag."""
    await AuditEntry.get_or_create(
        action="effect", target_type="test", target_id=tag, defaults={"actor_type": "system"}
    )


@job("test.always_fails", max_tries=3, backoff=lambda _: 0)
async def always_fails(tag: str) -> None:
    raise ValueError(f"cannot {tag}")


async def effects() -> int:
    return await AuditEntry.filter(action="effect").count()


async def test_rollback_sends_nothing() -> None:
    with pytest.raises(RuntimeError):
        async with transaction():
            await enqueue(record_effect, "a")
            raise RuntimeError("business rule failed")
    assert await OutboxMessage.all().count() == 0
    assert await get_redis().zcard(QUEUE) == 0
    await run_jobs(record_effect)
    assert await effects() == 0


async def test_job_is_sent_only_after_commit() -> None:
    async with transaction():
        await enqueue(record_effect, "b")
        assert await get_redis().zcard(QUEUE) == 0  # not before commit
    assert await get_redis().zcard(QUEUE) == 1


async def test_job_committed_while_no_worker_runs_is_done_when_one_starts() -> None:
    async with transaction():
        await enqueue(record_effect, "c")
    assert await effects() == 0
    await run_jobs(record_effect)
    assert await effects() == 1
    assert await OutboxMessage.all().count() == 0  # done messages leave the outbox


async def test_crash_after_commit_is_recovered_by_the_sweeper() -> None:
    # The process died between commit and flush: the message is in the outbox, nothing in Redis.
    message = await OutboxMessage.create(job_name="test.record_effect", args=["d"])
    await OutboxMessage.filter(id=message.id).update(created_at=utcnow() - timedelta(minutes=1))
    assert await get_redis().zcard(QUEUE) == 0
    assert await sweep_outbox() == 1
    await run_jobs(record_effect)
    assert await effects() == 1


async def test_job_lost_with_redis_is_resent() -> None:
    async with transaction():
        await enqueue(record_effect, "e")
    await get_redis().flushdb()  # Redis lost the queue
    await OutboxMessage.all().update(sent_at=utcnow() - timedelta(hours=1))
    assert await sweep_outbox() == 1
    await run_jobs(record_effect)
    assert await effects() == 1


async def test_job_run_twice_has_one_effect() -> None:
    async with transaction():
        await enqueue(record_effect, "f")
    # A duplicate delivery: the same outbox message resent by the sweeper and an explicit second run.
    await OutboxMessage.all().update(sent_at=utcnow() - timedelta(hours=1))
    await run_jobs(record_effect)
    await record_effect("f")
    assert await effects() == 1


async def test_failing_job_retries_then_is_recorded_dead() -> None:
    async with transaction():
        await enqueue(always_fails, "fly")
    await run_jobs(always_fails)
    dead = await DeadJob.get(job_name="test.always_fails")
    assert dead.tries == 3
    assert "cannot fly" in dead.error
    assert dead.job_id.startswith("outbox:")
    counts = await get_redis().hgetall(JOB_METRICS_KEY)
    assert int(counts[b"test.always_fails|failed"]) == 3
    assert int(counts[b"test.always_fails|dead"]) == 1
    assert await OutboxMessage.all().count() == 0
