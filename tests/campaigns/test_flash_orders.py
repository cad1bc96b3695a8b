"""Priced flash sales: a win is an order awaiting payment; paid (points) it becomes a voucher in the same
transaction; unpaid by the deadline or cancelled, its slot goes back on sale (Redis and the database
together) and the next grabber wins it; a late payment is refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.core.config import get_settings
from app.core.models import AuditEntry
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from campaigns.flash import orders
from campaigns.flash import tasks as flash_tasks
from campaigns.flash.keys import k
from campaigns.flash.runtime import runtime
from campaigns.models import Campaign, FlashWin
from loyalty.models import Voucher
from tests.campaigns import support as ch
from tests.helpers import run_jobs


@pytest.fixture(autouse=True)
def _one_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)  # in-process every member shares one address


async def balance(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/mp/v1/points", headers=headers)).json()["balance"])


async def test_a_points_order_is_paid_once_and_its_voucher_issued(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    cid = await ch.live_flash(client, team, stock=2, price_points=300)
    [(rich_id, rich), (poor_id, poor), (_, other)] = await ch.segment_members(3)
    await ch.with_points([rich_id], 500)
    await ch.with_points([poor_id], 100)
    assert (await ch.grab(client, cid, rich)).json()["outcome"] == "won"
    assert (await ch.grab(client, cid, poor)).json()["outcome"] == "won"
    order = await ch.persisted_order(cid, rich_id)
    assert not await Voucher.exists(source_reference=order.ticket_id)  # nothing issued before payment

    listed = (await client.get("/mp/v1/me/flash-orders", headers=rich)).json()
    assert [(o["id"], o["status"], o["price_points"]) for o in listed] == [
        (order.id, "awaiting_payment", 300)
    ]
    assert 590 <= listed[0]["seconds_left"] <= 600
    assert (await client.get(f"/mp/v1/me/flash-orders/{order.id}", headers=other)).status_code == 404
    someone_elses = await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=other)
    assert someone_elses.status_code == 404 and someone_elses.json()["code"] == "flash.order_not_found"

    key = {"Idempotency-Key": "pay-1"}
    paid = await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=rich | key)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["seconds_left"] == 0
    again = await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=rich | key)
    assert again.json() == paid.json()
    unkeyed = await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=rich)
    assert unkeyed.status_code == 200 and unkeyed.json()["status"] == "paid"
    assert await balance(client, rich) == 200  # charged once
    mine = (await client.get("/mp/v1/vouchers", headers=rich)).json()["items"]
    assert [v["name"] for v in mine] == ["Latte"]
    refused = await client.post(f"/mp/v1/me/flash-orders/{order.id}/cancel", headers=rich)
    assert refused.status_code == 409 and refused.json()["code"] == "flash.order_paid"

    poor_order = await ch.persisted_order(cid, poor_id)
    short = await client.post(f"/mp/v1/me/flash-orders/{poor_order.id}/pay", headers=poor)
    assert short.status_code == 409 and short.json()["code"] == "points.insufficient", short.text
    assert (await FlashWin.get(id=poor_order.id)).status == "awaiting_payment"  # still payable
    await ch.with_points([poor_id], 200)
    assert (await client.post(f"/mp/v1/me/flash-orders/{poor_order.id}/pay", headers=poor)).json()[
        "status"
    ] == "paid"
    assert await ch.assert_vouchers_match_wins(cid) == 2


async def test_cancel_and_expiry_put_the_slot_back_on_sale(client: httpx.AsyncClient, team: ch.Ops) -> None:
    runtime.reset()
    async with ch.process_runtime():
        cid = await ch.live_flash(client, team, stock=1, price_points=10, payment_minutes=1)
        crowd = await ch.segment_members(4)
        await ch.with_points([m for m, _ in crowd], 100)
        (first_id, first), (second_id, second), (third_id, third), (_, late) = crowd
        assert (await ch.grab(client, cid, first)).json()["outcome"] == "won"
        assert (await ch.grab(client, cid, second)).json()["outcome"] == "sold_out"
        order = await ch.persisted_order(cid, first_id)

        cancelled = await client.post(f"/mp/v1/me/flash-orders/{order.id}/cancel", headers=first)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
        assert (await client.post(f"/mp/v1/me/flash-orders/{order.id}/cancel", headers=first)).json()[
            "status"
        ] == "cancelled"
        gone = await client.post(f"/mp/v1/me/flash-orders/{order.id}/pay", headers=first)
        assert gone.status_code == 409 and gone.json()["code"] == "flash.order_cancelled"
        assert int(await get_redis().hget(k(cid, "meta"), "left")) == 1  # type: ignore[misc]
        await ch.restocked(cid)
        won = (await ch.grab(client, cid, second)).json()
        assert won["outcome"] == "won", won
        assert (await ch.grab(client, cid, first)).json()["outcome"] == "sold_out"  # sold again
        second_order = await ch.persisted_order(cid, second_id)
        assert second_order.slot == order.slot and second_order.ticket_id != order.ticket_id

        # The second winner lets the deadline pass: the sweeper expires the order, a late payment is refused.
        assert await orders.expire_overdue(utcnow() + timedelta(minutes=2)) == 1
        late_pay = await client.post(f"/mp/v1/me/flash-orders/{second_order.id}/pay", headers=second)
        assert late_pay.status_code == 409 and late_pay.json()["code"] == "flash.order_expired", late_pay.text
        assert await balance(client, second) == 100  # nothing taken
        await run_jobs()  # the outbox's return job: already returned at once, a no-op now
        await ch.restocked(cid)
        assert (await ch.grab(client, cid, third)).json()["outcome"] == "won"
        # The first member's count was released (the default), so they may win the slot again later.
        third_order = await ch.persisted_order(cid, third_id)
        assert (await client.post(f"/mp/v1/me/flash-orders/{third_order.id}/pay", headers=third)).json()[
            "status"
        ] == "paid"
        assert (await ch.grab(client, cid, late)).json()["outcome"] == "sold_out"
        rows = await FlashWin.filter(campaign_id=cid).order_by("id").values_list("member_id", "status")
        assert rows == [(first_id, "cancelled"), (second_id, "expired"), (third_id, "paid")]
        assert await ch.assert_vouchers_match_wins(cid) == 1
        campaign = await Campaign.get(id=cid)
        assert campaign.spent_count == 1  # the budget follows the slots held


async def test_an_expired_win_can_keep_counting(client: httpx.AsyncClient, team: ch.Ops) -> None:
    body = ch.flash_body(stock=2, price_points=10)
    body["config"]["expired_counts"] = True
    campaign = await ch.approved(client, team, body)
    await client.post(f"/ops/v1/campaigns/{campaign['id']}/preheat", headers=team.author)
    cid = campaign["id"]
    [(member_id, member)] = await ch.segment_members(1)
    assert (await ch.grab(client, cid, member)).json()["outcome"] == "won"
    order = await ch.persisted_order(cid, member_id)
    assert (await client.post(f"/mp/v1/me/flash-orders/{order.id}/cancel", headers=member)).status_code == 200
    assert (await ch.grab(client, cid, member)).json()["outcome"] == "limit_reached"
    assert int(await get_redis().hget(k(cid, "meta"), "left")) == 2  # type: ignore[misc]


async def test_priced_configuration_is_checked(client: httpx.AsyncClient, team: ch.Ops) -> None:
    for config in (
        {"price_fen": 100, "price_points": 10},
        {"price_fen": 100, "payment_minutes": 0},
        {"price_fen": 100, "payment_minutes": 61},
    ):
        body = await ch.with_benefit(ch.flash_body())
        body["config"] |= config
        response = await client.post("/ops/v1/campaigns", json=body, headers=team.author)
        assert response.status_code == 422, (config, response.text)


async def test_a_rebuild_after_releases_sells_the_released_slots_and_sequences(
    client: httpx.AsyncClient, team: ch.Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "flash_recovery_settle_seconds", 0.05)
    runtime.reset()
    cid = await ch.live_flash(client, team, stock=3, limit=2, price_points=10)
    [(member_id, member), (other_id, other)] = await ch.segment_members(2)
    for _ in range(2):
        assert (await ch.grab(client, cid, member, key=f"m{_}")).json()["outcome"] == "won"
    assert (await ch.grab(client, cid, other)).json()["outcome"] == "won"
    await ch.drain(cid)
    first = await FlashWin.filter(campaign_id=cid, member_id=member_id, sequence=1).first()
    assert first is not None
    assert (await client.post(f"/mp/v1/me/flash-orders/{first.id}/cancel", headers=member)).status_code == 200
    # Redis loses everything; the rebuild loads what the database holds: 2 held, 1 slot and the
    # member's first sequence free.
    await get_redis().flushdb()
    await flash_tasks.maintain_flash()
    live = (await client.get(f"/ops/v1/campaigns/{cid}/live", headers=team.author)).json()
    assert (live["left"], live["issued"]) == (1, 2), live
    runtime.forget(cid)  # the install's `changed` event does this in a process following the events
    assert await ch.grab_until_answered(client, cid, member) == "won"  # the released sequence, again
    await ch.drain(cid)
    held = await FlashWin.filter(campaign_id=cid, released_at__isnull=True).values_list(
        "member_id", "sequence", "slot"
    )
    assert sorted((m, q) for m, q, _ in held) == sorted([(member_id, 1), (member_id, 2), (other_id, 1)])
    assert len({slot for _, _, slot in held}) == 3
    assert await ch.grab_until_answered(client, cid, other) == "sold_out"
    refused = await AuditEntry.filter(action="flash.win_refused").count()
    assert refused == 0
