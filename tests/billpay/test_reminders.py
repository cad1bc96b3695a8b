"""Monthly reminders for saved accounts: subscribe, queued once a month from 09:00 on the chosen day,
delivered through the logging notification channel, skipped when nothing is due."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import httpx
import pytest

from loyalty.models import DeliveryStatus, MessageDelivery, MessageKind
from miniprogram_api.billpay import reminders
from miniprogram_api.billpay.models import ReminderDelivery, ReminderSubscription
from tests.billpay.support import (
    make_biller,
    member,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
)
from tests.helpers import run_jobs

# 2026-11-05 10:00 in Shanghai, and 08:00 the same day (too early to send)
FIFTH_AT_TEN = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
FIFTH_AT_EIGHT = datetime(2026, 11, 5, 0, 0, tzinfo=UTC)


async def save(client: httpx.AsyncClient, headers: dict[str, str], biller_id: int, account_no: str) -> int:
    response = await client.post(
        "/mp/v1/bills/accounts",
        json={"biller_id": biller_id, "account_no": account_no, "nickname": "家里电费"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_reminder_is_sent_once_a_month_on_its_day(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client, "alice")
    bob, _ = await member(client, "bob")
    account = await save(client, alice, biller["id"], "3100123456")
    paid_up = await save(client, alice, biller["id"], "9600000001")  # 96…: nothing due
    for account_id in (account, paid_up):
        response = await client.put(
            f"/mp/v1/bills/accounts/{account_id}/reminder", json={"day_of_month": 5}, headers=alice
        )
        assert response.status_code == 200 and response.json()["day_of_month"] == 5
    assert (
        await client.put(f"/mp/v1/bills/accounts/{account}/reminder", json={"day_of_month": 5}, headers=bob)
    ).status_code == 404
    bad = await client.put(
        f"/mp/v1/bills/accounts/{account}/reminder", json={"day_of_month": 31}, headers=alice
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "day_of_month"
    listed = (await client.get("/mp/v1/bills/accounts", headers=alice)).json()
    assert {a["reminder_day"] for a in listed} == {5}
    await ReminderSubscription.all().update(last_queued_month=None)  # subscribed before the 5th

    assert await reminders.queue_due(FIFTH_AT_EIGHT) == 0
    assert await reminders.queue_due(FIFTH_AT_TEN) == 2
    assert await reminders.queue_due(FIFTH_AT_TEN) == 0  # once a month
    with caplog.at_level(logging.INFO, logger="linli.notify"):
        await run_jobs()
    sent = await MessageDelivery.filter(kind=MessageKind.BILL_REMINDER, status=DeliveryStatus.SENT)
    assert len(sent) == 1
    assert sent[0].member_id == alice_id and "****3456" in sent[0].body and "3100123456" not in sent[0].body
    outcomes = {d.outcome for d in await ReminderDelivery.all()}
    assert outcomes == {"sent", "nothing_due"}
    # a repeated job delivers nothing more
    reminder = await ReminderSubscription.get(household_account_id=account)
    with caplog.at_level(logging.INFO, logger="linli.notify"):
        await reminders.send_reminder(reminder.id, "2026-11")
    assert await MessageDelivery.filter(kind=MessageKind.BILL_REMINDER).count() == 1

    deleted = await client.delete(f"/mp/v1/bills/accounts/{account}/reminder", headers=alice)
    assert deleted.status_code == 204
    again = await client.delete(f"/mp/v1/bills/accounts/{account}/reminder", headers=alice)
    assert again.status_code == 404 and again.json()["code"] == "bill.reminder_not_found"


async def test_subscribing_after_the_day_waits_for_next_month() -> None:
    assert reminders.first_month_to_skip(5, date(2026, 11, 20)) == "2026-11"
    assert reminders.first_month_to_skip(25, date(2026, 11, 20)) is None
    assert reminders.first_month_to_skip(20, date(2026, 11, 20)) is None


async def test_concurrent_subscriptions_leave_one_reminder(client: httpx.AsyncClient) -> None:
    import asyncio

    biller = await make_biller(client)
    alice, _ = await member(client)
    account = await save(client, alice, biller["id"], "3100123456")
    responses = await asyncio.gather(
        *(
            client.put(f"/mp/v1/bills/accounts/{account}/reminder", json={"day_of_month": d}, headers=alice)
            for d in (3, 4, 5, 6, 7, 8)
        )
    )
    assert {r.status_code for r in responses} == {200}
    assert await ReminderSubscription.filter(household_account_id=account).count() == 1
