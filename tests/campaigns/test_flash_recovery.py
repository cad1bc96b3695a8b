"""Redis losing a running campaign's keys: grabs get 503 until the engine rebuilt them from the database,
then the sale goes on without oversell. The database itself refuses any win beyond stock or limit."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from tortoise.exceptions import IntegrityError

from app.core.config import get_settings
from app.core.models import AuditEntry
from app.core.redis_client import get_redis
from campaigns.flash import tasks
from campaigns.flash.keys import k
from campaigns.flash.persistence import Win, persist_wins
from campaigns.flash.runtime import runtime
from campaigns.models import Campaign, FlashWin
from tests.campaigns import support as ch


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short settle wait, and no per-IP limit (in-process every request comes from one address)."""
    runtime.reset()
    monkeypatch.setattr(get_settings(), "flash_recovery_settle_seconds", 0.6)
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)


async def _assert_exact(campaign_id: int, stock: int, limit: int) -> list[int]:
    await ch.drain(campaign_id)
    wins = await FlashWin.filter(campaign_id=campaign_id).order_by("slot")
    assert [w.slot for w in wins] == list(range(1, stock + 1))
    assert max(Counter(w.member_id for w in wins).values()) <= limit
    assert await ch.assert_vouchers_match_wins(campaign_id) == stock
    return [w.member_id for w in wins]


async def test_redis_flushed_mid_sale_with_write_behind(client: httpx.AsyncClient, team: ch.Ops) -> None:
    async with ch.process_runtime():
        campaign_id = await ch.live_flash(client, team, stock=100, limit=1)
        crowd = await ch.members(250)
        first, rest = crowd[:60], crowd[60:]
        answers = await asyncio.gather(*(ch.grab(client, campaign_id, h, key=f"first-{m}") for m, h in first))
        assert {a.json()["outcome"] for a in answers} == {"won"}
        # Redis restarts without persistence before the worker consumed a single stream entry.
        await get_redis().flushdb()
        # Grabs wait (503) while the engine settles and rebuilds: 100 - 60 persisted by the write-behind.
        outcomes = Counter(
            await asyncio.gather(*(ch.grab_until_answered(client, campaign_id, h) for _, h in rest))
        )
        assert outcomes["won"] == 40
        assert set(outcomes) == {"won", "sold_out"}
        campaign = await Campaign.get(id=campaign_id)
        assert campaign.flash_epoch == 2
        # Those who won before the loss still have their win, and the engine remembers them: a retry
        # of their grab (same key) answers the same win, a new grab is not a second one.
        again = await asyncio.gather(*(ch.grab(client, campaign_id, h, key=f"first-{m}") for m, h in first))
        assert [a.json() for a in again] == [a.json() for a in answers]
        assert (await ch.grab(client, campaign_id, first[0][1])).json()["outcome"] in (
            "limit_reached",
            "sold_out",
        )
    winners = await _assert_exact(campaign_id, stock=100, limit=1)
    assert {m for m, _ in first} <= set(winners)


async def test_redis_flushed_mid_sale_without_write_behind(
    client: httpx.AsyncClient, team: ch.Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "flash_write_behind", False)
    campaign_id = await ch.live_flash(client, team, stock=50, limit=1)
    crowd = await ch.members(150)
    await asyncio.gather(*(ch.grab(client, campaign_id, h) for _, h in crowd[:30]))
    await ch.drain(campaign_id)  # 30 persisted
    await asyncio.gather(*(ch.grab(client, campaign_id, h) for _, h in crowd[30:40]))  # 10 only in Redis
    await get_redis().flushdb()
    # The worker's scheduled maintenance notices and rebuilds (the API would too, on the next grab).
    await tasks.maintain_flash()
    live = (await client.get(f"/ops/v1/campaigns/{campaign_id}/live", headers=team.author)).json()
    assert (live["state"], live["left"], live["issued"], live["epoch"]) == ("ready", 20, 30, 2)
    # The 10 unpersisted wins died with Redis: their items are sold again, never twice.
    outcomes = Counter(
        await asyncio.gather(*(ch.grab_until_answered(client, campaign_id, h) for _, h in crowd[40:]))
    )
    assert outcomes["won"] == 20
    await _assert_exact(campaign_id, stock=50, limit=1)


async def test_grabs_get_503_while_the_keys_are_rebuilt(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=10)
    (_, h1), (_, h2) = await ch.members(2)
    assert (await ch.grab(client, campaign_id, h1)).json()["outcome"] == "won"
    await ch.drain(campaign_id)
    await get_redis().flushdb()
    response = await ch.grab(client, campaign_id, h2)
    assert response.status_code == 503
    assert response.json()["code"] == "campaign.unavailable"
    assert response.headers["Retry-After"] == "1"
    assert await ch.grab_until_answered(client, campaign_id, h2) == "won"
    assert await ch.grab_until_answered(client, campaign_id, h1) == "limit_reached"


async def test_the_database_refuses_wins_beyond_stock_or_limit(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    campaign_id = await ch.live_flash(client, team, stock=2, limit=1)
    (m1, _), (m2, _), (m3, _) = await ch.members(3)

    def win(member: int, slot: int, sequence: int = 1) -> Win:
        return Win(campaign_id, member, slot, sequence, 20_000, sequence, f"t-{member}-{slot}", 0, 1)

    assert await persist_wins([win(m1, 1), win(m2, 2)]) == 2
    # Slot 3 of a stock of 2, slot 1 twice, and a second win for a member limited to one: all refused.
    assert await persist_wins([win(m3, 3), win(m3, 1), win(m1, 2, sequence=2)]) == 0
    assert await FlashWin.filter(campaign_id=campaign_id).count() == 2
    refused = await AuditEntry.filter(action="flash.win_refused").count()
    assert refused == 3
    # A win row cannot claim another stock than its campaign's.
    with pytest.raises(IntegrityError):
        await FlashWin.create(
            campaign_id=campaign_id, member_id=m3, slot=3, sequence=1, business_day="2026-01-01",
            day_sequence=1, stock=5, member_limit=1, member_day_limit=0, ticket_id="forged", epoch=1,
            won_at="2026-01-01T00:00:00Z",
        )  # fmt: skip
    assert await get_redis().hget(k(campaign_id, "outcomes"), "refused") == b"3"
