"""The flash stream consumer of every worker takes a flushed or recreated stream quietly: a warning, no
stack trace, and it gives a stream that came back without its group the group again and persists it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx
import pytest

from app.core.config import get_settings
from app.core.redis_client import get_redis
from campaigns import flash
from campaigns.flash import persistence as flash_persist
from campaigns.flash.keys import ACTIVE_SET, GROUP, k
from campaigns.models import FlashWin
from tests.campaigns import support as ch


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, f"never saw: {what}"
        await asyncio.sleep(0.05)


async def test_stream_deleted_under_a_blocked_consumer_is_quiet_and_recovers(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "flash_member_rate", 0)
    team = await ch.ops(client)
    campaign_id = await ch.live_flash(client, team, stock=10)
    crowd = [member for member, _ in await ch.members(2)]
    redis = get_redis()
    stream = k(campaign_id, "stream")
    stop = asyncio.Event()
    caplog.set_level(logging.WARNING, logger="linli.campaigns.persist")
    consumer = asyncio.create_task(flash_persist._consume_campaign(campaign_id, "test-consumer", stop))
    try:
        answer = await flash.grab(campaign_id, crowd[0], "", "10.0.0.1")
        assert answer.outcome == "won"

        async def persisted(n: int) -> bool:
            return await FlashWin.filter(campaign_id=campaign_id).count() == n

        await eventually(lambda: persisted(1), "the first win persisted")
        await asyncio.sleep(0.05)  # the consumer blocks on the empty stream again
        # Redis loses the stream while the consumer is blocked reading it (Redis 7 answers UNBLOCKED)
        await redis.delete(stream)
        await asyncio.sleep(0.5)
        assert not consumer.done()
        # a grab writes the stream anew, without the group (as after a flush, before the rebuild)
        answer = await flash.grab(campaign_id, crowd[1], "", "10.0.0.1")
        assert answer.outcome == "won"
        await eventually(lambda: persisted(2), "the consumer recreating its group and persisting")
        assert any(g["name"] in (GROUP, GROUP.encode()) for g in await redis.xinfo_groups(stream))
    finally:
        stop.set()
        await asyncio.wait_for(consumer, timeout=10)
    records = [r for r in caplog.records if r.name == "linli.campaigns.persist"]
    assert not [r for r in records if r.levelno >= logging.ERROR], [r.getMessage() for r in records]
    assert not [r for r in records if r.exc_info]
    lost = [r for r in records if "gone" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.WARNING


async def test_consumer_survives_redis_errors_at_its_membership_check(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The last Redis call of the loop (is the campaign still active?) failing does not end the consumer;
    it ends when the campaign leaves the active set."""
    team = await ch.ops(client)
    campaign_id = await ch.live_flash(client, team, stock=10)
    redis = get_redis()
    stop = asyncio.Event()
    # the active set holds a string: SISMEMBER answers WRONGTYPE (a real Redis error) while it does
    await redis.delete(ACTIVE_SET)
    await redis.set(ACTIVE_SET, "not a set")
    consumer = asyncio.create_task(flash_persist._consume_campaign(campaign_id, "test-consumer", stop))
    try:
        await asyncio.sleep(1.0)
        assert not consumer.done(), consumer
        await redis.delete(ACTIVE_SET)  # the campaign is no longer active: the consumer returns
        await asyncio.wait_for(consumer, timeout=10)
    finally:
        stop.set()
        if not consumer.done():
            await asyncio.wait_for(consumer, timeout=10)
