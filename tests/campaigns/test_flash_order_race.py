"""Slots are reusable, the database still cannot hold more than the stock or the member limit: the
partial unique indexes refuse a second held win of a slot, and a real race of payments, cancels,
expiries and new grabs of released slots ends with exactly the stock held and every paid order its
voucher."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from tortoise.exceptions import IntegrityError

from app.core.config import get_settings
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from campaigns.flash import orders
from campaigns.flash.keys import k
from campaigns.flash.runtime import runtime
from campaigns.models import FlashWin, OrderStatus
from loyalty.models import Voucher
from tests.campaigns import support as ch

STOCK = 5


@pytest.fixture(autouse=True)
def _one_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)
    monkeypatch.setattr(get_settings(), "flash_member_rate", 0)


async def test_the_database_refuses_a_second_held_win_of_a_slot(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    cid = await ch.live_flash(client, team, stock=1, price_points=10)
    [(first_id, first), (second_id, _)] = await ch.segment_members(2)
    assert (await ch.grab(client, cid, first)).json()["outcome"] == "won"
    held = await ch.persisted_order(cid, first_id)
    copy = {
        f: getattr(held, f)
        for f in (
            "campaign_id",
            "slot",
            "business_day",
            "stock",
            "member_limit",
            "member_day_limit",
            "epoch",
            "won_at",
            "status",
            "price_points",
            "pay_by",
        )
    }
    with pytest.raises(IntegrityError):  # the same slot held twice
        await FlashWin.create(**copy, member_id=second_id, sequence=1, day_sequence=1, ticket_id="x-1")
    with pytest.raises(IntegrityError):  # the member's sequence held twice
        await FlashWin.create(
            **copy | {"slot": 1}, member_id=first_id, sequence=1, day_sequence=2, ticket_id="x-2"
        )
    await FlashWin.filter(id=held.id).update(status=OrderStatus.EXPIRED, released_at=utcnow())
    again = await FlashWin.create(**copy, member_id=second_id, sequence=1, day_sequence=1, ticket_id="x-3")
    assert again.slot == held.slot  # released, the slot can be held again
    with pytest.raises(IntegrityError):  # a held win beyond the stock
        await FlashWin.create(
            **copy | {"slot": 2}, member_id=first_id, sequence=1, day_sequence=1, ticket_id="x-4"
        )


async def test_payments_cancels_expiries_and_regrabs_race(client: httpx.AsyncClient, team: ch.Ops) -> None:
    runtime.reset()
    cid = await ch.live_flash(client, team, stock=STOCK, price_points=10)
    crowd = await ch.segment_members(40)
    await ch.with_points([m for m, _ in crowd], 10)  # enough for one order each
    headers = dict(crowd)
    keys = itertools.count()

    async def press(member_id: int) -> str:
        response = await ch.grab(client, cid, headers[member_id], key=f"k{next(keys)}")
        return str(response.json()["outcome"])

    first = await asyncio.gather(*(press(m) for m, _ in crowd))
    assert first.count("won") == STOCK
    async with ch.process_runtime():
        await ch.drain(cid)
        winners = [w for w in await FlashWin.filter(campaign_id=cid).order_by("id")]
        pay, cancel, both, late = winners[:1], winners[1:2], winners[2:4], winners[4:]

        async def paying(win: FlashWin) -> int:
            r = await client.post(f"/mp/v1/me/flash-orders/{win.id}/pay", headers=headers[win.member_id])
            return r.status_code

        async def cancelling(win: FlashWin) -> int:
            r = await client.post(f"/mp/v1/me/flash-orders/{win.id}/cancel", headers=headers[win.member_id])
            return r.status_code

        async def crowd_regrabs() -> list[str]:
            answers = []
            for _ in range(30):
                answers += await asyncio.gather(*(press(m) for m, _ in crowd))
                await ch.drain(cid)
                await asyncio.sleep(0.02)
            return answers

        async def sweeper() -> int:
            await asyncio.sleep(0.05)
            # The late winner's deadline passes (the sweeper's clock moves on), racing its payment.
            return await orders.expire_overdue(utcnow() + timedelta(minutes=11), campaign_id=cid)

        results = await asyncio.gather(
            *(paying(w) for w in pay + both + late),
            *(cancelling(w) for w in cancel + both),
            crowd_regrabs(),
            sweeper(),
        )
        assert all(code in (200, 409) for code in results[: len(pay + both + late) + len(cancel + both)])
        await ch.drain(cid)

    rows = await FlashWin.filter(campaign_id=cid).values(
        "member_id", "slot", "status", "released_at", "ticket_id"
    )
    held = [r for r in rows if r["released_at"] is None]
    assert len(held) <= STOCK
    assert len({r["slot"] for r in held}) == len(held)
    assert max(Counter(r["member_id"] for r in held).values()) == 1
    assert len(held) + int(await get_redis().hget(k(cid, "meta"), "left")) == STOCK  # type: ignore[misc]
    # Released slots were won again while the campaign was live.
    assert sum(r["status"] in ("expired", "cancelled") for r in rows) >= 2
    assert len(rows) > STOCK
    # Every paid order has its voucher, nothing else does, nobody holds two.
    paid = {r["ticket_id"]: r["member_id"] for r in rows if r["status"] == "paid"}
    vouchers = dict(
        await Voucher.filter(source_reference__startswith=f"{cid}-").values_list(
            "source_reference", "member_id"
        )
    )
    assert vouchers == paid
    assert max(Counter(vouchers.values()).values(), default=1) == 1
    for r in rows:
        assert (r["status"] == "paid") == (r["ticket_id"] in vouchers)
