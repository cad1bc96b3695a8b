"""DOMAIN.md scenario 3 as written, through the API: "10:00 — 1,000 coffee vouchers at ¥1, one per member,
gold tier and payroll customers only, grids A and B". The crowd (some outside the audience or the grids)
presses at once; winners pay ¥1 from their bank accounts, some let the (short) deadline pass, and their
slots are grabbed again by others and paid. At the end exactly `stock` vouchers are paid for, nobody holds
two, every debit has its voucher or its refund, and the points ledger checks out.

3,000 members and 1,000 items on PostgreSQL; the embedded default (SQLite) runs a tenth of it."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from app.core.config import get_settings
from app.core.db import dialect
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from campaigns.flash import orders
from campaigns.flash.keys import k
from campaigns.flash.runtime import runtime
from campaigns.models import FlashWin
from loyalty.models import Voucher
from merchants.models import Branch, Merchant
from miniprogram_api.billpay.models import SimBankPayment
from tests.campaigns import support as ch
from tests.helpers import run_jobs, signup_merchant
from tests.loyalty.support import assert_ledger_sound

NON_PAYERS = 0.2  # a share of winners never pays


async def test_scenario3_paid_flash_sale_in_grids_a_and_b(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    members, stock = (3000, 1000) if dialect() == "postgres" else (300, 100)
    runtime.reset()
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)  # in-process every member shares one address
    monkeypatch.setattr(get_settings(), "flash_member_rate", 0)
    rng = random.Random(3)
    await signup_merchant(client, "Corner Coffee")
    coffee = await Merchant.get(name="Corner Coffee")
    author, approver = await ch.operator("campaign_manager"), await ch.operator("approver")
    a, b, c = [
        (await Branch.create(name=f"Branch {n}", lat=31.2, lng=121.4 + i)).id for i, n in enumerate("ABC")
    ]
    half = members * 4 // 10  # 80% of the crowd is the audience, half in each grid
    audience = await ch.segment_members(
        half, tier="gold", tags=("payroll",), grid=a
    ) + await ch.segment_members(half, tier="gold", tags=("payroll",), grid=b)
    rest = (members - 2 * half) // 4
    outsiders = (
        await ch.segment_members(rest, tier="silver", tags=("payroll",), grid=a)  # not gold
        + await ch.segment_members(rest, tier="gold", grid=b)  # not payroll
        + await ch.segment_members(rest, tier="gold", tags=("payroll",), grid=c)  # another grid
        + await ch.segment_members(rest, tier="gold", tags=("payroll",))  # in no grid
    )
    headers = dict(audience + outsiders)
    body = ch.flash_body(
        stock=stock,
        limit=1,
        name="10:00 coffee vouchers at ¥1",
        price_fen=100,
        payment_minutes=1,
        grid_ids=[a, b],
        merchant_ids=[coffee.id],
        audience={"tiers": ["gold"], "tags": ["payroll"]},
        reward={"kind": "voucher", "title": "Latte", "value_fen": 1600, "cost_fen": 1500},
    )
    campaign = await ch.create(client, author, body)
    cid = campaign["id"]
    assert (await client.post(f"/ops/v1/campaigns/{cid}/submit", headers=author)).status_code == 200
    assert (await client.post(f"/ops/v1/campaigns/{cid}/approve", headers=approver)).json()[
        "status"
    ] == "live"
    assert (await client.post(f"/ops/v1/campaigns/{cid}/preheat", headers=author)).json()["left"] == stock
    keys = itertools.count()

    async def press(member_id: int) -> str:
        response = await ch.grab(client, cid, headers[member_id], key=f"press-{next(keys)}")
        assert response.status_code == 200, response.text
        return str(response.json()["outcome"])

    async def pay(win: FlashWin) -> int:
        response = await client.post(f"/mp/v1/me/flash-orders/{win.id}/pay", headers=headers[win.member_id])
        assert response.status_code == 200, response.text
        return 1

    clock = utcnow()
    paid_total = 0
    async with ch.process_runtime():
        # Outsiders press first, so their presses reach the script while stock is left.
        crowd = [m for m, _ in outsiders] + [m for m, _ in audience]
        for round_no in range(8):
            answers = dict(zip(crowd, await asyncio.gather(*(press(m) for m in crowd)), strict=True))
            assert not any(answers[m] == "won" for m, _ in outsiders)
            if round_no == 0:
                assert Counter(answers.values())["won"] == stock
                assert any(answers[m] == "not_eligible" for m, _ in outsiders)
            await ch.drain(cid)
            due = await FlashWin.filter(campaign_id=cid, status="awaiting_payment").order_by("id")
            payers = [w for w in due if rng.random() >= NON_PAYERS]
            paid_total += sum(await asyncio.gather(*(pay(w) for w in payers)))
            if paid_total == stock:
                break
            # The others let the deadline pass: the sweeper expires them, the slots go back on sale.
            clock += timedelta(minutes=2)
            assert await orders.expire_overdue(clock, campaign_id=cid) == len(due) - len(payers)
            await ch.restocked(cid)
            crowd = [m for m in crowd if answers[m] != "won" or m in {w.member_id for w in payers}]
        await run_jobs()

    assert paid_total == stock
    rows = await FlashWin.filter(campaign_id=cid).values("member_id", "status", "ticket_id", "released_at")
    paid = {r["ticket_id"]: r["member_id"] for r in rows if r["status"] == "paid"}
    assert len(paid) == stock and len(set(paid.values())) == stock  # nobody holds two
    assert {r["status"] for r in rows} == {"paid", "expired"}
    assert len(rows) > stock  # released slots were won again
    assert set(paid.values()) <= {m for m, _ in audience}
    vouchers = dict(
        await Voucher.filter(source_reference__startswith=f"{cid}-").values_list(
            "source_reference", "member_id"
        )
    )
    assert vouchers == paid
    # Every debit has its voucher (nothing was debited for an expired order here).
    debits = await SimBankPayment.filter(reference__startswith="flash-order:").values_list(
        "reference", "status"
    )
    assert sorted(
        ref.removeprefix("flash-order:") for ref, status in debits if status == "debited"
    ) == sorted(paid)
    assert int(await get_redis().hget(k(cid, "meta"), "left")) == 0  # type: ignore[misc]
    stats = (await client.get(f"/ops/v1/campaigns/{cid}/analytics", headers=approver)).json()
    assert stats["orders"]["paid"] == stock and stats["orders"]["revenue_fen"] == stock * 100, stats["orders"]
    assert stats["orders"]["expired"] == len(rows) - stock and stats["rewards_issued"] == stock
    live = (await client.get(f"/ops/v1/campaigns/{cid}/live", headers=approver)).json()
    assert live["left"] == 0
    await assert_ledger_sound()
