"""Messages: the inbox, templates, delivery rules (consent, opt-outs, quiet hours, caps) and the triggers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core.config import get_settings
from app.core.errors import InvalidField
from app.core.timeutil import BUSINESS_TZ, utcnow
from loyalty import messages
from loyalty.messages import sending, tasks
from loyalty.models import DeliveryStatus, MessageDelivery, MessageKind, PointsLot
from tests.helpers import login_member, run_jobs
from tests.loyalty.support import active_merchant, sale
from tests.loyalty.test_vouchers import bought_voucher, published_benefit

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=BUSINESS_TZ)  # a Monday noon in Shanghai: no quiet hours
NIGHT = datetime(2026, 12, 7, 23, 30, tzinfo=BUSINESS_TZ)
PROMO = {"title": "Coffee week", "body": "Half price at Corner Coffee"}


async def member(
    client: httpx.AsyncClient, *, marketing: bool = True, join: bool = True
) -> tuple[dict[str, str], int]:
    """A member who logged in and (by default) joined with the marketing consent."""
    headers = await login_member(client)
    if not join:
        me = await client.get("/mp/v1/me", headers=headers)
        return headers, int(me.json()["id"])
    joined = await client.post(
        "/mp/v1/me/join", json={"share_profile": False, "marketing": marketing}, headers=headers
    )
    assert joined.status_code == 200, joined.text
    return headers, int(joined.json()["id"])


async def nudge(member_id: int, key: str, at: datetime = NOON) -> MessageDelivery:
    """A points-expiring nudge (capped, no consent needed)."""
    return await messages.send(
        member_id, MessageKind.POINTS_EXPIRING, {"points": 10, "expires_on": "2026-12-31"}, key, now=at
    )


async def test_inbox_lists_counts_and_marks_read_only_my_messages(client: httpx.AsyncClient) -> None:
    mine, my_id = await member(client)
    theirs, their_id = await member(client)
    first = await nudge(my_id, "a")
    second = await messages.send(
        my_id, MessageKind.BILL_REFUNDED, {"biller": "Power", "reason": "declined.", "amount": "¥12.00"}, "r1"
    )
    other = await nudge(their_id, "a")

    listed = await client.get("/mp/v1/messages", params={"limit": 1}, headers=mine)
    assert [m["id"] for m in listed.json()["items"]] == [second.id]
    rest = await client.get("/mp/v1/messages", params={"cursor": listed.json()["next_cursor"]}, headers=mine)
    assert [m["id"] for m in rest.json()["items"]] == [first.id] and rest.json()["next_cursor"] is None
    assert rest.json()["items"][0]["body"] == "10 points expire on 2026-12-31: spend them first."
    assert (await client.get("/mp/v1/messages/unread-count", headers=mine)).json() == {"unread": 2}

    read = await client.post(f"/mp/v1/messages/{first.id}/read", headers=mine)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert (await client.get("/mp/v1/messages/unread-count", headers=mine)).json() == {"unread": 1}
    for path in (f"/mp/v1/messages/{other.id}", f"/mp/v1/messages/{other.id}/read"):
        response = await (
            client.get(path, headers=mine) if "read" not in path else client.post(path, headers=mine)
        )
        assert response.status_code == 404 and response.json()["code"] == "message.not_found"
    assert (await client.get("/mp/v1/messages/unread-count", headers=theirs)).json() == {"unread": 1}
    assert (await client.post("/mp/v1/messages/read-all", headers=mine)).json() == {"unread": 0}
    assert (await client.get(f"/mp/v1/messages/{2**63}", headers=mine)).status_code == 422


async def test_a_missing_template_variable_is_named(client: httpx.AsyncClient) -> None:
    _, member_id = await member(client)
    with pytest.raises(InvalidField) as refused:
        await messages.send(member_id, MessageKind.POINTS_EXPIRING, {"points": 10}, "k")
    assert refused.value.status == 422 and refused.value.code == "message.missing_variable"
    assert refused.value.extra["errors"][0]["field"] == "variables.expires_on"
    assert not await MessageDelivery.exists(member_id=member_id)


async def test_the_same_event_reaches_a_member_once_even_at_once(client: httpx.AsyncClient) -> None:
    _, member_id = await member(client)
    deliveries = await asyncio.gather(*(nudge(member_id, "same") for _ in range(10)))
    assert len({d.id for d in deliveries}) == 1
    assert await MessageDelivery.filter(member_id=member_id).count() == 1


async def test_consent_gates_promotional_but_not_service_messages(client: httpx.AsyncClient) -> None:
    _, shy = await member(client, marketing=False)
    _, keen = await member(client, marketing=True)
    _, outsider = await member(client, join=False)
    refund = {"biller": "Power", "reason": "declined.", "amount": "¥12.00"}

    assert (await messages.send(shy, MessageKind.BROADCAST, PROMO, "b1", now=NOON)).reason == "no_consent"
    assert (
        await messages.send(keen, MessageKind.BROADCAST, PROMO, "b1", now=NOON)
    ).status == DeliveryStatus.SENT
    assert (await messages.send(shy, MessageKind.BILL_REFUNDED, refund, "r")).status == DeliveryStatus.SENT
    # Service messages follow what the person did; the platform's nudges and offers reach members only.
    assert (
        await messages.send(outsider, MessageKind.BILL_REFUNDED, refund, "r")
    ).status == DeliveryStatus.SENT
    left = await nudge(outsider, "n")
    assert (left.status, left.reason) == (DeliveryStatus.SUPPRESSED, "not_member")


async def test_opt_outs_apply_to_messages_not_yet_sent(client: httpx.AsyncClient) -> None:
    headers, member_id = await member(client)
    waiting = await messages.send(member_id, MessageKind.BROADCAST, PROMO, "night", now=NIGHT)
    assert (waiting.status, waiting.reason) == (DeliveryStatus.PENDING, "quiet_hours")

    refused = await client.put(
        "/mp/v1/me/message-preferences", json={"opted_out": ["broadcast", "points_expiring"]}, headers=headers
    )
    assert refused.status_code == 200, refused.text
    enabled = {k["kind"]: k["enabled"] for k in refused.json()["kinds"]}
    assert enabled["broadcast"] is False and enabled["flash_reminder"] is True
    service = await client.put(
        "/mp/v1/me/message-preferences", json={"opted_out": ["bill_refunded"]}, headers=headers
    )
    assert service.status_code == 422 and service.json()["errors"][0]["field"] == "opted_out"

    morning = (NIGHT + timedelta(hours=9)).isoformat()
    assert await sending.deliver_pending(waiting.id, morning) == DeliveryStatus.SUPPRESSED
    assert (await MessageDelivery.get(id=waiting.id)).reason == "opted_out"
    assert (await nudge(member_id, "n")).reason == "opted_out"
    assert (await client.get("/mp/v1/messages", headers=headers)).json()["items"] == []


async def test_quiet_hours_hold_promotional_messages_until_the_morning(client: httpx.AsyncClient) -> None:
    headers, member_id = await member(client)
    waiting = await messages.send(member_id, MessageKind.BROADCAST, PROMO, "night", now=NIGHT)
    reminder = await messages.send(
        member_id, MessageKind.FLASH_REMINDER, {"campaign": "Coffee", "opens_at": "23:40"}, "f", now=NIGHT
    )
    assert waiting.status == DeliveryStatus.PENDING and reminder.status == DeliveryStatus.SENT
    assert await sending.deliver_pending(waiting.id, (NIGHT + timedelta(hours=1)).isoformat()) == "pending"
    morning = datetime(2026, 12, 8, 8, 0, 5, tzinfo=BUSINESS_TZ).isoformat()
    assert await sending.deliver_pending(waiting.id, morning) == DeliveryStatus.SENT
    assert await sending.deliver_pending(waiting.id, morning) is None  # run twice: once
    listed = (await client.get("/mp/v1/messages", headers=headers)).json()["items"]
    assert sorted(m["kind"] for m in listed) == ["broadcast", "flash_reminder"]


async def test_daily_and_weekly_caps_hold_under_concurrency(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "message_daily_cap", 3)
    monkeypatch.setattr(get_settings(), "message_weekly_cap", 5)
    _, member_id = await member(client)
    today = await asyncio.gather(*(nudge(member_id, f"d{i}") for i in range(8)))
    assert sorted(str(d.reason) for d in today) == ["None"] * 3 + ["daily_cap"] * 5
    refund = {"biller": "Power", "reason": "declined.", "amount": "¥12.00"}
    assert (await messages.send(member_id, MessageKind.BILL_REFUNDED, refund, "r", now=NOON)).reason is None
    tomorrow = [await nudge(member_id, f"t{i}", NOON + timedelta(days=1)) for i in range(3)]
    assert [d.reason for d in tomorrow] == [None, None, "weekly_cap"]


async def test_points_and_vouchers_about_to_lapse_are_announced_once(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    headers, member_id = await member(client)
    await sale(client, merchant, headers, 10_000)
    benefit_id = await published_benefit(client, valid_days=2)
    voucher_id = await bought_voucher(client, merchant, headers, benefit_id)
    lot = await PointsLot.filter(member_id=member_id).order_by("expires_at").first()
    assert lot is not None
    soon = lot.expires_at - timedelta(days=3)

    await tasks.announce_expiring(soon.isoformat())
    await tasks.announce_expiring(soon.isoformat())
    await tasks.announce_expiring.fn((soon + timedelta(hours=1)).isoformat())
    await run_jobs()
    now = utcnow()
    await tasks.announce_expiring(now.isoformat())
    await tasks.announce_expiring(now.isoformat())

    kinds = await MessageDelivery.filter(member_id=member_id).values_list("kind", "status", "variables")
    points = [v for k, _, v in kinds if k == MessageKind.POINTS_EXPIRING]
    vouchers = [v for k, _, v in kinds if k == MessageKind.VOUCHER_EXPIRING]
    left = sum(await PointsLot.filter(member_id=member_id).values_list("remaining", flat=True))
    assert len(points) == 1 and points[0]["points"] == left == 100
    assert len(vouchers) == 1 and voucher_id
    assert all(s == DeliveryStatus.SENT for _, s, _ in kinds)


async def test_message_preferences_show_the_optional_kinds(client: httpx.AsyncClient) -> None:
    headers, _ = await member(client, marketing=False)
    shown = await client.get("/mp/v1/me/message-preferences", headers=headers)
    body: dict[str, Any] = shown.json()
    assert body["marketing"] is False
    assert {k["kind"] for k in body["kinds"]} == {k.value for k in messages.optional_kinds()}
    assert "bill_refunded" not in {k["kind"] for k in body["kinds"]}
