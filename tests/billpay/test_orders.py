"""Bill payment through the member API: look up, create, pay, confirm, history, idempotency, bad input."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx
import pytest

from app.core.timeutil import utcnow
from loyalty.models import DeliveryStatus, MessageDelivery, MessageKind
from miniprogram_api.billpay.models import BillOrder, SimBankAccount, SimBankPayment
from tests.billpay.support import (
    OPENING,
    amount_due,
    balance,
    biller_payments,
    create_order,
    history,
    make_biller,
    member,
    open_order,
    paid_order,
    pay,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
    state_of,
)
from tests.helpers import run_jobs

ACCOUNT = "3100123456"


async def test_pay_an_electricity_bill_end_to_end(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client, "alice")
    lookup = await client.post(
        "/mp/v1/bills/lookup", json={"biller_id": biller["id"], "account_no": ACCOUNT}, headers=alice
    )
    assert lookup.status_code == 200
    bill = lookup.json()
    assert bill["account_mask"] == "****3456" and ACCOUNT not in lookup.text
    assert 1_000 <= bill["amount_due"] <= 50_000 and bill["total"] == bill["amount_due"]
    assert bill["holder"].endswith("*")

    created = await open_order(client, alice, biller["id"], ACCOUNT)
    assert created["state"] == "created" and created["amount"] == bill["amount_due"]
    assert [t["to_state"] for t in created["transitions"]] == ["created"]
    paid = await pay(client, alice, created["id"])
    assert paid.status_code == 200 and paid.json()["state"] == "paid"
    assert await balance(alice_id) == OPENING - bill["total"]

    with caplog.at_level(logging.INFO, logger="linli.notify"):
        await run_jobs()
    order = (await client.get(f"/mp/v1/bills/orders/{created['id']}", headers=alice)).json()
    assert order["state"] == "succeeded"
    assert order["receipt"]["receipt_no"].startswith("R")
    assert [t["to_state"] for t in order["transitions"]] == ["created", "paid", "confirming", "succeeded"]
    assert len(await biller_payments(order["ref"])) == 1
    assert await balance(alice_id) == OPENING - bill["total"]
    assert await MessageDelivery.exists(
        member_id=alice_id, kind=MessageKind.BILL_PAID, status=DeliveryStatus.SENT
    )
    # the bill is paid: nothing is due any more, and paying it again is refused
    assert await amount_due(client, alice, biller["id"], ACCOUNT) == 0
    again = await create_order(client, alice, biller["id"], ACCOUNT, amount=bill["amount_due"])
    assert again.status_code == 409 and again.json()["code"] == "bill.nothing_due"


async def test_unknown_account_is_404(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    response = await client.post(
        "/mp/v1/bills/lookup", json={"biller_id": biller["id"], "account_no": "4040001111"}, headers=alice
    )
    assert response.status_code == 404 and response.json()["code"] == "bill.account_not_found"
    order = await create_order(client, alice, biller["id"], "4040001111", amount=100)
    assert order.status_code == 404 and order.json()["code"] == "bill.account_not_found"


async def test_amount_that_disagrees_with_the_biller_is_409(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    due = await amount_due(client, alice, biller["id"], ACCOUNT)
    response = await create_order(client, alice, biller["id"], ACCOUNT, amount=due + 1)
    assert response.status_code == 409
    assert response.json()["code"] == "bill.amount_mismatch" and response.json()["amount_due"] == due
    assert await BillOrder.all().count() == 0


async def test_bad_input_names_the_field(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    cases = [
        ({"biller_id": biller["id"], "account_no": "12", "amount": 100}, "account_no"),
        ({"biller_id": biller["id"], "account_no": ACCOUNT, "amount": 0}, "amount"),
        ({"account_no": ACCOUNT, "amount": 100}, ""),
        ({"household_account_id": 1, "biller_id": 1, "account_no": ACCOUNT, "amount": 100}, ""),
    ]
    for body, field in cases:
        response = await client.post("/mp/v1/bills/orders", json=body, headers=alice)
        assert response.status_code == 422, body
        assert any(field in e["field"] for e in response.json()["errors"]), response.json()
    missing = await client.post(
        "/mp/v1/bills/orders", json={"biller_id": 999, "account_no": ACCOUNT, "amount": 100}, headers=alice
    )
    assert missing.status_code == 404 and missing.json()["code"] == "bill.biller_not_found"


async def test_phone_topup_takes_listed_amounts_and_a_mobile_number(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client, type="phone_topup", name="中国移动")
    alice, alice_id = await member(client)
    listed = (await client.get("/mp/v1/bills/billers?type=phone_topup", headers=alice)).json()
    assert listed[0]["topup_amounts"] == [1000, 2000, 3000, 5000, 10000, 20000, 30000, 50000]
    bad_number = await create_order(client, alice, biller["id"], "3100123456", amount=5_000)
    assert bad_number.status_code == 422 and bad_number.json()["errors"][0]["field"] == "account_no"
    bad_amount = await create_order(client, alice, biller["id"], "13800001234", amount=4_200)
    assert bad_amount.status_code == 422 and bad_amount.json()["code"] == "bill.topup_amount_invalid"
    order = await paid_order(client, alice, biller["id"], "13800001234", amount=5_000)
    assert order["account_mask"] == "138****1234"
    await run_jobs()
    assert await state_of(order["id"]) == "succeeded"
    assert await balance(alice_id) == OPENING - 5_000


async def test_fee_rule_is_added_to_the_total(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client, fee_fixed=100, fee_rate_bp=50, fee_cap=150)
    alice, alice_id = await member(client)
    due = await amount_due(client, alice, biller["id"], ACCOUNT)
    fee = min(100 + (due * 50 + 5_000) // 10_000, 150)
    order = await paid_order(client, alice, biller["id"], ACCOUNT)
    assert (order["amount"], order["fee"], order["total"]) == (due, fee, due + fee)
    await run_jobs()
    assert await balance(alice_id) == OPENING - due - fee
    # the biller receives the bill amount, the fee stays with the platform
    assert [p.amount for p in await biller_payments(order["ref"])] == [due]


async def test_same_idempotency_key_returns_the_same_order(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    first = await create_order(client, alice, biller["id"], ACCOUNT, key="order-1")
    second = await create_order(client, alice, biller["id"], ACCOUNT, key="order-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert await BillOrder.all().count() == 1
    order_id = first.json()["id"]
    paid = await pay(client, alice, order_id, key="pay-1")
    replay = await pay(client, alice, order_id, key="pay-1")
    assert paid.json() == replay.json() and replay.headers["idempotent-replayed"] == "true"
    assert await SimBankPayment.all().count() == 1


async def test_concurrent_pays_with_different_keys_debit_once(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    order = await open_order(client, alice, biller["id"], ACCOUNT)
    responses = await asyncio.gather(*(pay(client, alice, order["id"], key=f"k{i}") for i in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["state"] for r in responses} <= {"paid", "confirming"}
    assert await SimBankPayment.all().count() == 1
    assert await balance(alice_id) == OPENING - order["total"]
    await run_jobs()
    assert await history(order["id"]) == ["created", "paid", "confirming", "succeeded"]


async def test_insufficient_funds_is_402_and_the_order_stays_payable(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    order = await open_order(client, alice, biller["id"], ACCOUNT)
    await client.get("/mp/v1/bills/payment-account", headers=alice)  # opens the bank account
    await SimBankAccount.filter(member_id=alice_id).update(balance=order["total"] - 1)
    refused = await pay(client, alice, order["id"])
    assert refused.status_code == 402 and refused.json()["code"] == "bill.insufficient_funds"
    assert await state_of(order["id"]) == "created"
    assert await balance(alice_id) == order["total"] - 1
    await SimBankAccount.filter(member_id=alice_id).update(balance=order["total"])
    assert (await pay(client, alice, order["id"])).json()["state"] == "paid"
    account = (await client.get("/mp/v1/bills/payment-account", headers=alice)).json()
    assert account["balance"] == 0 and account["account_mask"].startswith("****")


async def test_cancel_an_unpaid_order_but_not_a_paid_one(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    order = await open_order(client, alice, biller["id"], ACCOUNT)
    cancelled = await client.post(f"/mp/v1/bills/orders/{order['id']}/cancel", headers=alice)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert (await client.post(f"/mp/v1/bills/orders/{order['id']}/cancel", headers=alice)).status_code == 200
    refused = await pay(client, alice, order["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "bill.order_not_payable"
    assert await SimBankPayment.all().count() == 0

    other = await paid_order(client, alice, biller["id"], ACCOUNT)
    late = await client.post(f"/mp/v1/bills/orders/{other['id']}/cancel", headers=alice)
    assert late.status_code == 409 and late.json()["code"] == "bill.order_not_cancellable"


async def test_expired_order_is_cancelled_on_pay_and_by_the_sweeper(client: httpx.AsyncClient) -> None:
    from miniprogram_api.billpay.state_machine import expire_unpaid

    biller = await make_biller(client)
    alice, _ = await member(client)
    first = await open_order(client, alice, biller["id"], ACCOUNT)
    second = await open_order(client, alice, biller["id"], ACCOUNT)
    await BillOrder.all().update(expires_at=utcnow() - timedelta(seconds=1))
    refused = await pay(client, alice, first["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "bill.order_expired"
    assert await state_of(first["id"]) == "cancelled"
    assert await expire_unpaid() == 1
    assert await history(second["id"]) == ["created", "cancelled"]
    assert await SimBankPayment.all().count() == 0


async def test_second_order_while_the_first_is_confirming_is_409(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    first = await paid_order(client, alice, biller["id"], ACCOUNT)
    again = await create_order(client, alice, biller["id"], ACCOUNT, amount=first["amount"])
    assert again.status_code == 409 and again.json()["code"] == "bill.payment_in_progress"


async def test_order_history_is_the_members_own(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client, "alice")
    bob, _ = await member(client, "bob")
    orders = [await open_order(client, alice, biller["id"], f"31000000{i:02d}") for i in range(3)]
    await pay(client, alice, orders[0]["id"])
    page = (await client.get("/mp/v1/bills/orders?limit=2", headers=alice)).json()
    assert [o["id"] for o in page["items"]] == [orders[2]["id"], orders[1]["id"]]
    rest = (await client.get(f"/mp/v1/bills/orders?cursor={page['next_cursor']}", headers=alice)).json()
    assert [o["id"] for o in rest["items"]] == [orders[0]["id"]] and rest["next_cursor"] is None
    paid_only = (await client.get("/mp/v1/bills/orders?state=paid", headers=alice)).json()
    assert [o["id"] for o in paid_only["items"]] == [orders[0]["id"]]
    assert (await client.get("/mp/v1/bills/orders", headers=bob)).json()["items"] == []
    for path in (f"/mp/v1/bills/orders/{orders[0]['id']}",):
        response = await client.get(path, headers=bob)
        assert response.status_code == 404 and response.json()["code"] == "bill.order_not_found"
    stolen = await pay(client, bob, orders[1]["id"])
    assert stolen.status_code == 404


async def test_saved_accounts_are_masked_and_private(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client, "alice")
    bob, _ = await member(client, "bob")
    saved = await client.post(
        "/mp/v1/bills/accounts",
        json={"biller_id": biller["id"], "account_no": ACCOUNT, "nickname": "家里电费"},
        headers=alice,
    )
    assert saved.status_code == 201 and saved.json()["account_mask"] == "****3456"
    assert ACCOUNT not in saved.text
    account_id = saved.json()["id"]
    duplicate = await client.post(
        "/mp/v1/bills/accounts",
        json={"biller_id": biller["id"], "account_no": ACCOUNT, "nickname": "again"},
        headers=alice,
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "bill.account_exists"
    unknown = await client.post(
        "/mp/v1/bills/accounts",
        json={"biller_id": biller["id"], "account_no": "4049999999", "nickname": "x"},
        headers=alice,
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "bill.account_not_found"
    renamed = await client.patch(
        f"/mp/v1/bills/accounts/{account_id}", json={"nickname": "父母家"}, headers=alice
    )
    assert renamed.json()["nickname"] == "父母家"
    bill = await client.get(f"/mp/v1/bills/accounts/{account_id}/bill", headers=alice)
    assert bill.status_code == 200 and bill.json()["amount_due"] > 0
    assert (await client.get(f"/mp/v1/bills/accounts/{account_id}/bill", headers=bob)).status_code == 404
    assert (await client.delete(f"/mp/v1/bills/accounts/{account_id}", headers=bob)).status_code == 404

    order = await client.post(
        "/mp/v1/bills/orders",
        json={"household_account_id": account_id, "amount": bill.json()["amount_due"]},
        headers=alice,
    )
    assert order.status_code == 201 and order.json()["household_account_id"] == account_id
    theirs = await client.post(
        "/mp/v1/bills/orders", json={"household_account_id": account_id, "amount": 100}, headers=bob
    )
    assert theirs.status_code == 404 and theirs.json()["code"] == "bill.household_account_not_found"

    assert (await client.delete(f"/mp/v1/bills/accounts/{account_id}", headers=alice)).status_code == 204
    assert (await client.get("/mp/v1/bills/accounts", headers=alice)).json() == []
    kept = await client.get(f"/mp/v1/bills/orders/{order.json()['id']}", headers=alice)
    assert kept.json()["account_mask"] == "****3456" and kept.json()["household_account_id"] is None


async def test_inactive_biller_is_hidden_but_paid_orders_still_confirm(client: httpx.AsyncClient) -> None:
    from tests.helpers import login_operator

    ops = await login_operator(client)
    biller = await make_biller(client, ops)
    alice, _ = await member(client)
    order = await paid_order(client, alice, biller["id"], ACCOUNT)
    off = await client.patch(
        f"/ops/v1/billpay/billers/{biller['id']}", json={"is_active": False}, headers=ops
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert (await client.get("/mp/v1/bills/billers", headers=alice)).json() == []
    refused = await create_order(client, alice, biller["id"], "3100999999", amount=100)
    assert refused.status_code == 404 and refused.json()["code"] == "bill.biller_not_found"
    await run_jobs()
    assert await state_of(order["id"]) == "succeeded"


async def test_concurrent_creates_with_one_key_make_one_order(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, _ = await member(client)
    due = await amount_due(client, alice, biller["id"], ACCOUNT)
    responses = await asyncio.gather(
        *(create_order(client, alice, biller["id"], ACCOUNT, amount=due, key="same") for _ in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await BillOrder.all().count() == 1


async def test_ops_configure_billers_and_read_orders(client: httpx.AsyncClient) -> None:
    from app.core.models import AuditEntry
    from tests.helpers import login_operator

    ops = await login_operator(client)
    auditor = await login_operator(client, "auditor")
    manager = await login_operator(client, "campaign_manager")
    body = {"code": "sh-gas", "type": "gas", "name": "上海燃气", "region": "上海市", "adapter": "simulated"}
    assert (await client.post("/ops/v1/billpay/billers", json=body, headers=auditor)).status_code == 403
    assert (await client.get("/ops/v1/billpay/billers", headers=manager)).status_code == 403
    unknown = await client.post("/ops/v1/billpay/billers", json=body | {"adapter": "sftp"}, headers=ops)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "adapter"
    bad_config = await client.post(
        "/ops/v1/billpay/billers", json=body | {"adapter_config": {"timeout_rate": 2}}, headers=ops
    )
    assert bad_config.status_code == 422 and bad_config.json()["errors"][0]["field"] == "adapter_config"
    created = await client.post("/ops/v1/billpay/billers", json=body, headers=ops)
    assert created.status_code == 201 and created.json()["adapter_config"]["latency_ms"] == 0
    taken = await client.post("/ops/v1/billpay/billers", json=body, headers=ops)
    assert taken.status_code == 409 and taken.json()["code"] == "bill.biller_code_taken"
    biller_id = created.json()["id"]
    patched = await client.patch(
        f"/ops/v1/billpay/billers/{biller_id}", json={"fee_fixed": 50, "fee_cap": None}, headers=ops
    )
    assert patched.status_code == 200 and patched.json()["fee_fixed"] == 50
    nulled = await client.patch(f"/ops/v1/billpay/billers/{biller_id}", json={"name": None}, headers=ops)
    assert nulled.status_code == 422
    actions = {e.action for e in await AuditEntry.filter(target_type="biller", target_id=str(biller_id))}
    assert actions == {"billpay.biller_create", "billpay.biller_update"}
    assert (await client.get(f"/ops/v1/billpay/billers/{biller_id}", headers=auditor)).status_code == 200
    assert (await client.get("/ops/v1/billpay/billers/999", headers=auditor)).status_code == 404

    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller_id, ACCOUNT)
    await run_jobs()
    listed = await client.get(f"/ops/v1/billpay/orders?member_id={alice_id}&state=succeeded", headers=auditor)
    assert [o["id"] for o in listed.json()["items"]] == [order["id"]]
    detail = (await client.get(f"/ops/v1/billpay/orders/{order['id']}", headers=auditor)).json()
    assert detail["bank_txn"] and detail["attempt"] == 1 and detail["account_mask"] == "****3456"
    assert ACCOUNT not in listed.text
