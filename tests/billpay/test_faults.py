"""Scenario 5 with injected biller faults: timeouts are retried, rejections refunded, a down biller leaves
orders confirming, lost answers and lost jobs never pay twice, crashes mid-payment settle by themselves."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest

from app.core.models import OutboxMessage
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from loyalty.models import DeliveryStatus, MessageDelivery, MessageKind
from miniprogram_api.billpay import service
from miniprogram_api.billpay.adapters import payment_provider
from miniprogram_api.billpay.adapters.bank import DebitState, PaymentReversed
from miniprogram_api.billpay.models import Biller, BillOrder, SimBillerCall
from miniprogram_api.billpay.state_machine import confirm, refund_order, resume_overdue, settle_payment
from tests.billpay.support import (
    OPENING,
    balance,
    bill_voucher,
    biller_payments,
    billpay_settings,
    history,
    make_biller,
    member,
    open_order,
    paid_order,
    points,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
    state_of,
    voucher_status,
)
from tests.helpers import login_operator, run_jobs


async def pay_calls(order_ref: str) -> int:
    row = await SimBillerCall.get_or_none(order_ref=order_ref)
    return 0 if row is None else row.calls


async def test_biller_timing_out_once_is_retried_and_succeeds(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller["id"], "9110000001")
    await confirm(order["id"], 1)
    waiting = await BillOrder.get(id=order["id"])
    assert waiting.state == "confirming" and waiting.attempt == 2
    assert "did not answer" in (waiting.last_error or "")
    await run_jobs()
    done = (await client.get(f"/mp/v1/bills/orders/{order['id']}", headers=alice)).json()
    assert done["state"] == "succeeded" and done["receipt"]["receipt_no"]
    assert await history(order["id"]) == ["created", "paid", "confirming", "succeeded"]
    assert await pay_calls(order["ref"]) == 2
    assert len(await biller_payments(order["ref"])) == 1
    assert await balance(alice_id) == OPENING - order["total"]


async def test_biller_timing_out_then_rejecting_refunds_the_member(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    biller = await make_biller(client, adapter_config={"rejection_rate": 1.0})
    alice, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id)
    order = await paid_order(client, alice, biller["id"], "9110000002", voucher_id=voucher_id)
    assert await balance(alice_id) == OPENING - order["total"]
    assert await voucher_status(voucher_id) != "active"  # spent on the order while it is paid
    with caplog.at_level(logging.INFO, logger="linli.notify"):
        await run_jobs()
    done = (await client.get(f"/mp/v1/bills/orders/{order['id']}", headers=alice)).json()
    assert done["state"] == "refunded"
    assert done["failure"] == {"code": "biller_declined", "reason": "The biller declined the payment."}
    assert [t["to_state"] for t in done["transitions"]] == [
        "created",
        "paid",
        "confirming",
        "failed",
        "refunded",
    ]
    assert done["receipt"] is None and done["refunded_at"]
    assert await balance(alice_id) == OPENING
    assert await voucher_status(voucher_id) == "active"  # the refund gives the voucher back
    assert await points(alice_id) == 0  # and earns nothing
    assert [p.accepted for p in await biller_payments(order["ref"])] == [False]
    assert await MessageDelivery.exists(
        member_id=alice_id, kind=MessageKind.BILL_REFUNDED, status=DeliveryStatus.SENT
    )


async def test_account_in_arrears_is_rejected_and_refunded(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller["id"], "9200000001")
    await run_jobs()
    assert await state_of(order["id"]) == "refunded"
    refunded = await BillOrder.get(id=order["id"])
    assert refunded.failure_code == "account_in_arrears" and refunded.refund_txn
    assert await balance(alice_id) == OPENING


async def test_biller_down_leaves_orders_confirming_until_it_is_back(client: httpx.AsyncClient) -> None:
    ops = await login_operator(client)
    biller = await make_biller(client, ops)
    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller["id"], "3100123456")
    down = await client.patch(
        f"/ops/v1/billpay/billers/{biller['id']}", json={"adapter_config": {"down": True}}, headers=ops
    )
    assert down.status_code == 200 and down.json()["adapter_config"]["down"] is True
    lookup = await client.post(
        "/mp/v1/bills/lookup", json={"biller_id": biller["id"], "account_no": "3100123457"}, headers=alice
    )
    assert lookup.status_code == 503 and lookup.json()["code"] == "bill.biller_unavailable"
    assert "Retry-After" in lookup.headers
    with billpay_settings(billpay_confirm_max_attempts=50):
        for attempt in (1, 2, 3):
            await confirm(order["id"], attempt)
        stuck = await BillOrder.get(id=order["id"])
        assert stuck.state == "confirming" and stuck.attempt == 4
        assert await balance(alice_id) == OPENING - order["total"]  # still debited, not lost
        await client.patch(
            f"/ops/v1/billpay/billers/{biller['id']}", json={"adapter_config": {"down": False}}, headers=ops
        )
        await run_jobs()
    assert await state_of(order["id"]) == "succeeded"
    assert len(await biller_payments(order["ref"])) == 1


async def test_biller_down_past_the_last_attempt_refunds(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id)
    order = await paid_order(client, alice, biller["id"], "3100123456", voucher_id=voucher_id)
    await Biller.filter(id=biller["id"]).update(adapter_config={"down": True})
    with billpay_settings(billpay_confirm_max_attempts=3):
        await run_jobs()
    refunded = await BillOrder.get(id=order["id"])
    assert refunded.state == "refunded" and refunded.attempt == 3
    assert refunded.failure_code == "biller_unavailable"
    assert await balance(alice_id) == OPENING
    assert await voucher_status(voucher_id) == "active" and await points(alice_id) == 0
    assert await biller_payments(order["ref"]) == []


async def test_lost_answer_is_found_by_query_and_never_paid_twice(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller["id"], "9400000001")
    await run_jobs()
    assert await state_of(order["id"]) == "succeeded"
    assert await pay_calls(order["ref"]) == 1  # the retry asked, it did not pay again
    assert len(await biller_payments(order["ref"])) == 1
    assert await balance(alice_id) == OPENING - order["total"]


async def test_slow_biller_hits_our_deadline_and_is_confirmed_later(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client, adapter_config={"slow_ms": 2_000})
    alice, _ = await member(client)
    order = await paid_order(client, alice, biller["id"], "9300000001")
    with billpay_settings(billpay_biller_timeout=0.3):
        await confirm(order["id"], 1)
        first = await BillOrder.get(id=order["id"])
        assert first.state == "confirming" and first.last_error == "biller call timed out"
        await run_jobs()
    assert await state_of(order["id"]) == "succeeded"
    assert len(await biller_payments(order["ref"])) == 1


async def test_every_job_run_twice_has_one_effect(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    good = await paid_order(client, alice, biller["id"], "3100000001")
    bad = await paid_order(client, alice, biller["id"], "9200000002")
    await run_jobs()
    before = await history(good["id"]), await history(bad["id"])
    for _ in range(2):
        await confirm(good["id"], 1)
        await confirm(bad["id"], 1)
        await refund_order(bad["id"])
        await payment_provider().refund(bad["ref"])
    assert (await history(good["id"]), await history(bad["id"])) == before
    assert await balance(alice_id) == OPENING - good["total"]
    assert len(await biller_payments(good["ref"])) == 1


async def test_crash_after_the_debit_is_settled_by_the_check_job(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    created = await open_order(client, alice, biller["id"], "3100123456")
    order = await BillOrder.get(id=created["id"])
    # the API process started the payment and got the debit through, then died
    await service.start_payment(order)
    await payment_provider().debit(order.member_id, order.ref, order.total)
    assert await state_of(order.id) == "created"
    await run_jobs()
    assert await history(order.id) == ["created", "paid", "confirming", "succeeded"]
    assert await balance(alice_id) == OPENING - order.total


async def test_payment_stuck_before_the_debit_is_reversed_when_the_order_expires(
    client: httpx.AsyncClient,
) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    created = await open_order(client, alice, biller["id"], "3100123456")
    order = await BillOrder.get(id=created["id"])
    await service.start_payment(order)  # the debit call never came back
    await settle_payment(order.id)
    waiting = await BillOrder.get(id=order.id)
    assert waiting.state == "created" and waiting.due_at == waiting.expires_at  # payable until it expires
    await BillOrder.filter(id=order.id).update(expires_at=utcnow() - timedelta(seconds=1))
    await settle_payment(order.id)
    await settle_payment(order.id)  # a duplicate run changes nothing
    cancelled = await BillOrder.get(id=order.id)
    assert cancelled.state == "cancelled" and cancelled.due_at is None
    assert (await payment_provider().status(order.ref)).state is DebitState.REVERSED
    with pytest.raises(PaymentReversed):  # the stuck debit finally arrives at the bank: refused
        await payment_provider().debit(order.member_id, order.ref, order.total)
    assert await balance(alice_id) == OPENING


async def test_confirmation_lost_with_redis_is_resumed_by_the_sweeper(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    order = await paid_order(client, alice, biller["id"], "3100123456")
    await get_redis().flushdb()  # the queue is gone
    await OutboxMessage.all().delete()  # and so is the outbox (a job recorded dead, say)
    await run_jobs()
    assert await state_of(order["id"]) == "paid"
    with billpay_settings(billpay_stuck_after=0):
        assert await resume_overdue() == 1
        await run_jobs()
    assert await state_of(order["id"]) == "succeeded"
