"""Real `linli worker` processes persisting a flash sale are killed with SIGKILL twice; the next worker
claims what the dead ones left pending and the database ends with exactly the stock, no duplicates."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import pytest

from app.core.config import get_settings
from app.core.redis_client import get_redis
from campaigns.flash import grabs as flash
from campaigns.flash.keys import GROUP, k
from campaigns.flash.persistence import stream_backlog
from campaigns.models import Campaign, FlashWin
from tests.campaigns import support as ch

STOCK = 3000


def start_worker() -> subprocess.Popen[bytes]:
    """A real worker process on the test database and Redis, claiming idle entries after 0.5 s."""
    env = os.environ | {
        "LINLI_FLASH_CLAIM_IDLE_MS": "500",
        "LINLI_FLASH_IP_RATE": "0",  # the test grabs from one address
        "LINLI_FLASH_MEMBER_RATE": "0",
        "LINLI_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def persisted(campaign_id: int) -> int:
    return await FlashWin.filter(campaign_id=campaign_id).count()


WAIT_SECONDS = 120.0  # generous for a loaded 2-core machine; a worker that never claims fails here


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    worker: subprocess.Popen[bytes],
    campaign_id: int,
    what: str,
) -> None:
    """Poll until `condition` holds; fail with what was awaited and the persistence state when the worker
    dies or the deadline passes (the worker is killed then, so no process outlives the test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not await condition():
        assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else "worker died"
        if loop.time() > deadline:
            worker.kill()
            worker.wait()
            done, backlog = await persisted(campaign_id), await stream_backlog(campaign_id)
            raise AssertionError(
                f"{what}: not within {WAIT_SECONDS:.0f} s ({done}/{STOCK} persisted, {backlog=})"
            )
        await asyncio.sleep(0.005)


async def test_worker_killed_twice_during_persistence(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)
    monkeypatch.setattr(get_settings(), "flash_member_rate", 0)
    team = await ch.ops(client)
    campaign_id = await ch.live_flash(client, team, stock=STOCK, limit=2)
    crowd = [member for member, _ in await ch.members(1700)]

    async def sell(members: list[int]) -> Counter[str]:
        answers = await asyncio.gather(*(flash.grab(campaign_id, m, "", "10.0.0.1") for m in members))
        return Counter(a.outcome for a in answers)

    assert (await sell(crowd[:1000]))["won"] == 1000
    # A consumer that takes entries and vanishes without a trace: only claiming recovers them.
    await get_redis().xreadgroup(GROUP, "ghost", {k(campaign_id, "stream"): ">"}, count=200)

    first = start_worker()
    await wait_until(
        lambda: _more_than(campaign_id, 0), first, campaign_id, "the first worker persists a win"
    )
    first.send_signal(signal.SIGKILL)
    first.wait()

    assert (await sell(crowd[1000:1700]))["won"] == 700
    assert (await sell(crowd[:1300]))["won"] == 1300  # second wins of the first 1,300 members
    second = start_worker()
    done_before = await persisted(campaign_id)
    await wait_until(
        lambda: _more_than(campaign_id, done_before), second, campaign_id, "the second worker persists a win"
    )
    second.send_signal(signal.SIGKILL)
    second.wait()

    assert (await sell(crowd[1300:1700]))["won"] == 0  # sold out
    third = start_worker()
    try:
        await wait_until(
            lambda: _settled(campaign_id),
            third,
            campaign_id,
            "the third worker claims what the dead ones left and persists the whole stock",
        )
    finally:
        third.send_signal(signal.SIGTERM)
        third.wait(timeout=30)

    wins = await FlashWin.filter(campaign_id=campaign_id).values_list("slot", "member_id")
    assert sorted(slot for slot, _ in wins) == list(range(1, STOCK + 1))
    assert max(Counter(member for _, member in wins).values()) <= 2
    campaign = await Campaign.get(id=campaign_id)
    assert campaign.spent_count == STOCK
    assert await ch.assert_vouchers_match_wins(campaign_id) == STOCK  # no duplicate, none missing


async def _more_than(campaign_id: int, n: int) -> bool:
    return await persisted(campaign_id) > n


async def _settled(campaign_id: int) -> bool:
    return await persisted(campaign_id) == STOCK and await stream_backlog(campaign_id) == 0
