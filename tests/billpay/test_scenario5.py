"""DOMAIN.md scenario 5 end to end through the API, with loyalty: the member pays the electricity bill with
a voucher and gets points; the biller times out and the payment is retried; a biller that finally rejects
it refunds the money and gives the voucher back with no points; a success the biller turns out not to have
is reversed by ops, refunding the money and taking the points back."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from app.core.models import AuditEntry
from app.core.timeutil import business_day
from loyalty import ledger as loyalty_ledger
from loyalty.models import DeliveryStatus, Journal, MessageDelivery, MessageKind
from miniprogram_api.billpay.models import SimBillerPayment
from tests.billpay.support import (
    OPENING,
    balance,
    bill_voucher,
    history,
    make_biller,
    points,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
    voucher_status,
)
from tests.helpers import login_operator, run_jobs
from tests.loyalty.support import assert_ledger_sound, joined_member


async def pay_the_electricity_bill(
    client: httpx.AsyncClient, member: dict[str, str], biller_id: int, account_no: str, voucher_id: int
) -> dict[str, Any]:
    """What the mini-program does: look the bill up, pick the best voucher, create the order, pay it."""
    bill = await client.post(
        "/mp/v1/bills/lookup", json={"biller_id": biller_id, "account_no": account_no}, headers=member
    )
    assert bill.status_code == 200, bill.text
    due = bill.json()["amount_due"]
    offers = await client.get(f"/mp/v1/bills/vouchers?amount={due}", headers=member)
    assert offers.status_code == 200 and offers.json()[0]["voucher_id"] == voucher_id
    body = {"biller_id": biller_id, "account_no": account_no, "amount": due, "voucher_id": voucher_id}
    created = await client.post(
        "/mp/v1/bills/orders", json=body, headers=member | {"Idempotency-Key": f"order-{account_no}"}
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["amount"], order["discount"], order["total"]) == (due, 1_000, due - 1_000)
    paid = await client.post(
        f"/mp/v1/bills/orders/{order['id']}/pay", headers=member | {"Idempotency-Key": f"pay-{account_no}"}
    )
    assert paid.status_code == 200 and paid.json()["state"] == "paid", paid.text
    return dict(paid.json())


async def test_the_biller_times_out_once_the_payment_is_retried_and_points_arrive(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    biller = await make_biller(client)
    alice, alice_id = await joined_member(client)
    voucher_id = await bill_voucher(client, alice_id)

    order = await pay_the_electricity_bill(client, alice, biller["id"], "9110000001", voucher_id)
    assert await balance(alice_id) == OPENING - order["total"]
    with caplog.at_level(logging.INFO, logger="linli.notify"):
        await run_jobs()

    done = (await client.get(f"/mp/v1/bills/orders/{order['id']}", headers=alice)).json()
    assert done["state"] == "succeeded" and done["receipt"]["receipt_no"]
    assert done["points"] == (order["amount"] - 1_000) // 100 > 0
    summary = (await client.get("/mp/v1/points", headers=alice)).json()
    assert summary["balance"] == done["points"]
    entries = (await client.get("/mp/v1/points/history", headers=alice)).json()["items"]
    assert [(e["source"], e["points"]) for e in entries] == [("bill_payment", done["points"])]
    assert await voucher_status(voucher_id) == "used"
    assert await balance(alice_id) == OPENING - order["total"]
    assert [p.accepted for p in await SimBillerPayment.filter(order_ref=order["ref"])] == [True]
    told = await MessageDelivery.filter(member_id=alice_id, kind=MessageKind.BILL_PAID)
    assert len(told) == 1 and f"You earned {done['points']} points." in told[0].body
    await assert_ledger_sound()


async def test_the_biller_times_out_then_rejects_money_and_voucher_come_back_no_points(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    biller = await make_biller(client, adapter_config={"rejection_rate": 1.0})
    alice, alice_id = await joined_member(client)
    voucher_id = await bill_voucher(client, alice_id)

    order = await pay_the_electricity_bill(client, alice, biller["id"], "9130000001", voucher_id)
    with caplog.at_level(logging.INFO, logger="linli.notify"):
        await run_jobs()

    done = (await client.get(f"/mp/v1/bills/orders/{order['id']}", headers=alice)).json()
    assert done["state"] == "refunded" and done["failure"]["code"] == "biller_declined"
    assert [t["to_state"] for t in done["transitions"]] == [
        "created",
        "paid",
        "confirming",
        "failed",
        "refunded",
    ]
    assert done["points"] == 0 and await points(alice_id) == 0
    assert not await Journal.exists(reference=f"billpay:{order['id']}")
    assert await voucher_status(voucher_id) == "active"
    assert await balance(alice_id) == OPENING
    offers = (await client.get(f"/mp/v1/bills/vouchers?amount={order['amount']}", headers=alice)).json()
    assert [o["voucher_id"] for o in offers] == [voucher_id]
    assert await MessageDelivery.exists(
        member_id=alice_id, kind=MessageKind.BILL_REFUNDED, status=DeliveryStatus.SENT
    )
    await assert_ledger_sound()


async def test_a_success_the_biller_does_not_have_is_reversed_refunded_and_the_points_taken_back(
    client: httpx.AsyncClient,
) -> None:
    ops = await login_operator(client)
    auditor = await login_operator(client, "auditor")
    biller = await make_biller(client, ops)
    alice, alice_id = await joined_member(client)
    voucher_id = await bill_voucher(client, alice_id)
    order = await pay_the_electricity_bill(client, alice, biller["id"], "3100000001", voucher_id)
    kept = await pay_the_electricity_bill(
        client, alice, biller["id"], "3100000002", await bill_voucher(client, alice_id)
    )
    await run_jobs()
    awarded = (await client.get(f"/mp/v1/bills/orders/{order['id']}", headers=alice)).json()["points"]
    kept_points = (await client.get(f"/mp/v1/bills/orders/{kept['id']}", headers=alice)).json()["points"]
    assert await points(alice_id) == awarded + kept_points
    # the member spends some points before the reversal: the bank writes off what is gone
    await loyalty_ledger.spend_points(
        alice_id, kept_points + 1, purpose=loyalty_ledger.SpendPurpose.BENEFIT, reference="x:1"
    )

    # the biller has the payment: ops cannot refund it here
    refused = await client.post(
        f"/ops/v1/billpay/orders/{order['id']}/reverse", json={"reason": "mistake"}, headers=ops
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "bill.paid_at_biller")

    # the biller loses it; the nightly reconciliation flags it
    await SimBillerPayment.filter(order_ref=order["ref"]).delete()
    queued = await client.post(
        "/ops/v1/billpay/reconciliations",
        json={"day": str(business_day()), "biller_id": biller["id"]},
        headers=ops,
    )
    assert queued.status_code == 202
    await run_jobs()
    mismatches = (await client.get("/ops/v1/billpay/mismatches", headers=auditor)).json()["items"]
    assert [(m["order_ref"], m["kind"]) for m in mismatches] == [(order["ref"], "missing_at_biller")]

    forbidden = await client.post(
        f"/ops/v1/billpay/orders/{order['id']}/reverse", json={"reason": "x"}, headers=auditor
    )
    assert forbidden.status_code == 403
    reason = "The biller has no record of this payment; refunded."
    headers = ops | {"Idempotency-Key": "reverse-1"}
    reversed_ = await client.post(
        f"/ops/v1/billpay/orders/{order['id']}/reverse", json={"reason": reason}, headers=headers
    )
    replay = await client.post(
        f"/ops/v1/billpay/orders/{order['id']}/reverse", json={"reason": reason}, headers=headers
    )
    assert reversed_.status_code == 200, reversed_.text
    assert replay.json() == reversed_.json()
    assert reversed_.json()["state"] == "failed" and reversed_.json()["points_reversed"] is True
    await run_jobs()

    done = (await client.get(f"/mp/v1/bills/orders/{order['id']}", headers=alice)).json()
    assert done["state"] == "refunded" and done["failure"] == {"code": "reversed", "reason": reason}
    assert await history(order["id"]) == ["created", "paid", "confirming", "succeeded", "failed", "refunded"]
    assert await balance(alice_id) == OPENING - kept["total"]
    assert await voucher_status(voucher_id) == "active"
    assert await points(alice_id) == 0  # what was left of the award is taken back, never below zero
    award = await Journal.get(reference=f"billpay:{order['id']}")
    assert await Journal.exists(reference=f"reversal:{award.id}", kind="reversal")
    again = await client.post(
        f"/ops/v1/billpay/orders/{order['id']}/reverse", json={"reason": reason}, headers=ops
    )
    assert (again.status_code, again.json()["code"]) == (409, "bill.order_not_reversible")
    assert await AuditEntry.filter(action="billpay.order_reverse", target_id=str(order["id"])).count() == 1
    await assert_ledger_sound()
