"""One bill-payment voucher offered on many different bills at once: exactly one order gets it.

Distinct accounts and distinct Idempotency-Keys, so neither the order's request hash nor the
redemption's reference (the order id) can stop a second use; only the conditional flip
`Voucher.filter(id=…, status=ACTIVE).update(…)` in `loyalty/vouchers/bills.py` can. Every loser is a
clean 409 `voucher.used` that leaves no order (a 500 means the database's last-resort index caught a
double use the code let through). docs/testing.md lists the break this test catches.
"""

from __future__ import annotations

import asyncio

import httpx

from loyalty.models import VoucherRedemption
from miniprogram_api.billpay.models import BillOrder
from tests.billpay.support import (
    amount_due,
    bill_voucher,
    create_order,
    make_biller,
    member,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
    voucher_status,
)

BILLS = 20


async def test_one_voucher_on_many_concurrent_bills_is_used_exactly_once(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    alice, alice_id = await member(client)
    voucher_id = await bill_voucher(client, alice_id, face_value_fen=300)
    accounts = [f"31000{i:05d}" for i in range(100, 100 + BILLS)]
    due = [await amount_due(client, alice, biller["id"], account) for account in accounts]

    responses = await asyncio.gather(
        *(
            create_order(client, alice, biller["id"], account, amount, key=f"bill-{i}", voucher_id=voucher_id)
            for i, (account, amount) in enumerate(zip(accounts, due, strict=True))
        )
    )

    outcomes = [(r.status_code, r.json().get("code")) for r in responses]
    assert outcomes.count((201, None)) == 1, outcomes
    assert sorted(outcomes)[1:] == [(409, "voucher.used")] * (BILLS - 1), outcomes
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert winner["discount"] == 300
    orders = await BillOrder.all()
    assert [(o.id, o.voucher_id) for o in orders] == [(winner["id"], voucher_id)]
    assert await VoucherRedemption.filter(voucher_id=voucher_id).count() == 1
    assert await voucher_status(voucher_id) == "used"
