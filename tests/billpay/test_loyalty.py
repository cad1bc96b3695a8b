"""Bill payment through loyalty: points on success (once, at the biller's rate), never on failure; vouchers
reduce the debit, are used once per order, and come back when the order fails or is cancelled."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from app.core.config import get_settings
from app.core.timeutil import utcnow
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import Journal, VoucherRedemption
from miniprogram_api.billpay import state_machine
from miniprogram_api.billpay.models import BillOrder
from miniprogram_api.billpay.schemas import MAX_AMOUNT
from tests.billpay.support import (
    OPENING,
    amount_due,
    balance,
    bill_voucher,
    create_order,
    make_biller,
    member,
    open_order,
    paid_order,
    pay,
    points,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
    voucher_status,
)
from tests.helpers import login_operator, run_jobs
from tests.loyalty.support import assert_ledger_sound


async def order_of(client: httpx.AsyncClient, headers: dict[str, str], order_id: int) -> dict[str, object]:
    response = await client.get(f"/mp/v1/bills/orders/{order_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_succeeded_order_earns_points_once_at_the_billers_rate(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client, earn_rate=250, fee_fixed=100)
    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller["id"], "3100000001")
    assert order["points"] == 0
    await run_jobs()

    done = await order_of(client, alice, order["id"])
    expected = order["amount"] * 250 // 10_000  # the fee earns nothing
    assert done["state"] == "succeeded" and done["points"] == expected > 0
    assert done["points_reversed"] is False
    assert await points(alice_id) == expected
    journal = await Journal.get(reference=f"billpay:{order['id']}")
    assert journal.member_id == alice_id

    # a repeated success (a redelivered job) awards nothing more
    again = await state_machine.award_points(await BillOrder.get(id=order["id"]))
    assert again == expected and await points(alice_id) == expected
    history = (await client.get("/mp/v1/points/history", headers=alice)).json()
    assert [e["points"] for e in history["items"]] == [expected]
    await assert_ledger_sound()


async def test_a_biller_earning_nothing_awards_no_points(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client, earn_rate=0)
    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller["id"], "3100000002")
    await run_jobs()
    assert (await order_of(client, alice, order["id"]))["points"] == 0
    assert await points(alice_id) == 0
    assert not await Journal.exists(reference=f"billpay:{order['id']}")


async def test_ops_change_a_billers_earn_rate(client: httpx.AsyncClient) -> None:
    ops = await login_operator(client)
    biller = await make_biller(client, ops)
    assert biller["earn_rate"] == 100
    changed = await client.patch(
        f"/ops/v1/billpay/billers/{biller['id']}", json={"earn_rate": 50}, headers=ops
    )
    assert changed.status_code == 200 and changed.json()["earn_rate"] == 50
    refused = await client.patch(
        f"/ops/v1/billpay/billers/{biller['id']}", json={"earn_rate": 10_001}, headers=ops
    )
    assert refused.status_code == 422
    listed = (await client.get("/mp/v1/bills/billers", headers=(await member(client))[0])).json()
    assert listed[0]["earn_rate"] == 50


async def test_a_rejected_order_is_refunded_without_points(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    order = await paid_order(client, alice, biller["id"], "9200000001")
    await run_jobs()
    done = await order_of(client, alice, order["id"])
    assert done["state"] == "refunded" and done["points"] == 0
    assert await points(alice_id) == 0 and await balance(alice_id) == OPENING
    assert not await Journal.exists(reference=f"billpay:{order['id']}")


async def test_usable_vouchers_for_an_amount(client: httpx.AsyncClient) -> None:
    alice, alice_id = await member(client)
    ten_off = await bill_voucher(client, alice_id, face_value_fen=1_000, min_spend_fen=5_000)
    two_off = await bill_voucher(client, alice_id, face_value_fen=200)

    big = (await client.get("/mp/v1/bills/vouchers?amount=12000", headers=alice)).json()
    small = (await client.get("/mp/v1/bills/vouchers?amount=150", headers=alice)).json()
    bad = await client.get("/mp/v1/bills/vouchers?amount=0", headers=alice)

    assert [(v["voucher_id"], v["discount"], v["amount_after"]) for v in big] == [
        (ten_off, 1_000, 11_000),
        (two_off, 200, 11_800),
    ]
    assert [(v["voucher_id"], v["discount"], v["amount_after"]) for v in small] == [(two_off, 150, 0)]
    assert bad.status_code == 422
    bob, _ = await member(client)
    assert (await client.get("/mp/v1/bills/vouchers?amount=12000", headers=bob)).json() == []


async def test_a_voucher_reduces_the_debit_and_stays_used_when_the_order_succeeds(
    client: httpx.AsyncClient,
) -> None:
    biller = await make_biller(client, fee_fixed=50)
    alice, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id, face_value_fen=1_000)
    due = await amount_due(client, alice, biller["id"], "3100000003")

    order = await open_order(client, alice, biller["id"], "3100000003", voucher_id=voucher_id)
    assert (order["amount"], order["fee"], order["discount"], order["total"]) == (
        due,
        50,
        1_000,
        due + 50 - 1_000,
    )
    assert order["voucher_id"] == voucher_id and await voucher_status(voucher_id) == "used"
    assert (await pay(client, alice, order["id"])).status_code == 200
    assert await balance(alice_id) == OPENING - order["total"]
    await run_jobs()

    done = await order_of(client, alice, order["id"])
    assert done["state"] == "succeeded"
    assert done["points"] == (due - 1_000) * 100 // 10_000  # points on what the member paid for the bill
    assert await voucher_status(voucher_id) == "used"
    assert await balance(alice_id) == OPENING - order["total"]
    await assert_ledger_sound()


async def test_a_rejected_order_gives_the_voucher_back(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id)
    order = await paid_order(client, alice, biller["id"], "9200000002", voucher_id=voucher_id)
    assert await voucher_status(voucher_id) == "used"
    await run_jobs()
    done = await order_of(client, alice, order["id"])
    assert done["state"] == "refunded" and done["points"] == 0
    assert await voucher_status(voucher_id) == "active"
    assert await balance(alice_id) == OPENING
    redemption = await VoucherRedemption.get(reference=f"billpay:{order['id']}")
    assert redemption.status == "reversed"
    # and the voucher works on the next order
    again = await open_order(client, alice, biller["id"], "3100000004", voucher_id=voucher_id)
    assert again["discount"] == 1_000


async def test_cancelling_an_order_gives_the_voucher_back(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id)
    order = await open_order(client, alice, biller["id"], "3100000005", voucher_id=voucher_id)
    cancelled = await client.post(f"/mp/v1/bills/orders/{order['id']}/cancel", headers=alice)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert await voucher_status(voucher_id) == "active"
    # an expired unpaid order gives it back too
    order = await open_order(client, alice, biller["id"], "3100000005", voucher_id=voucher_id)
    await BillOrder.filter(id=order["id"]).update(expires_at=utcnow() - timedelta(seconds=1))
    assert await state_machine.expire_unpaid() == 1
    assert await voucher_status(voucher_id) == "active"


async def test_voucher_refusals_create_no_order(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    bob, _ = await member(client)
    voucher_id = await bill_voucher(client, alice_id)
    picky = await bill_voucher(client, alice_id, min_spend_fen=10_000_000 - 1)
    await open_order(client, alice, biller["id"], "3100000006", voucher_id=voucher_id)

    used = await create_order(client, alice, biller["id"], "3100000007", voucher_id=voucher_id)
    not_mine = await create_order(client, bob, biller["id"], "3100000007", voucher_id=voucher_id)
    min_spend = await create_order(client, alice, biller["id"], "3100000007", voucher_id=picky)

    assert (used.status_code, used.json()["code"]) == (409, "voucher.used")
    assert (not_mine.status_code, not_mine.json()["code"]) == (404, "voucher.not_found")
    assert (min_spend.status_code, min_spend.json()["code"]) == (422, "voucher.min_spend_not_met")
    assert await BillOrder.filter(account_mask__endswith="0007").count() == 0
    assert await voucher_status(picky) == "active"


async def test_retried_and_concurrent_orders_use_a_voucher_once(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id)
    due = await amount_due(client, alice, biller["id"], "3100000008")

    first = await create_order(
        client, alice, biller["id"], "3100000008", due, key="k-1", voucher_id=voucher_id
    )
    retry = await create_order(
        client, alice, biller["id"], "3100000008", due, key="k-1", voucher_id=voucher_id
    )
    assert first.status_code == retry.status_code == 201
    assert first.json()["id"] == retry.json()["id"] and retry.json()["discount"] == 1_000

    second = await bill_voucher(client, alice_id, face_value_fen=300)
    racing = await asyncio.gather(
        *(
            create_order(client, alice, biller["id"], "3100000009", None, key=f"race-{i}", voucher_id=second)
            for i in range(6)
        )
    )
    codes = sorted(r.status_code for r in racing)
    assert codes.count(201) == 1 and set(codes) <= {201, 409}, [r.text for r in racing]
    assert await VoucherRedemption.filter(voucher_id=second).count() == 1
    assert await VoucherRedemption.filter(voucher_id=voucher_id).count() == 1


async def test_a_voucher_works_on_a_bill_above_the_tills_sale_limit(client: httpx.AsyncClient) -> None:
    """Bills are bounded by bill payment itself (100,000 yuan), not by the till's sale limit."""
    _, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id, face_value_fen=1_000)
    amount = get_settings().sale_max_fen + 1_000_000
    assert amount <= MAX_AMOUNT
    used = await loyalty_vouchers.redeem_voucher_for_bill(
        alice_id, voucher_id, amount, reference="billpay:big"
    )
    assert (used.amount_fen, used.discount_fen, used.payable_fen) == (amount, 1_000, amount - 1_000)
    assert await voucher_status(voucher_id) == "used"
