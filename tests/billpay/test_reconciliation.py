"""Daily reconciliation against the simulated biller's statement, through the ops API: every kind of
mismatch is flagged, ops resolve them (audited), a rerun keeps what was resolved."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from app.core.models import AuditEntry
from app.core.timeutil import business_day
from miniprogram_api.billpay import reconciliation
from miniprogram_api.billpay.models import Biller, SimBillerPayment
from tests.billpay.support import (
    billpay_settings,
    make_biller,
    member,
    paid_order,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
    state_of,
)
from tests.helpers import login_operator, run_jobs


async def test_reconciliation_flags_every_mismatch_and_ops_resolve_them(client: httpx.AsyncClient) -> None:
    ops = await login_operator(client)
    auditor = await login_operator(client, "auditor")
    biller = await make_biller(client, ops)
    alice, _ = await member(client)
    matched = await paid_order(client, alice, biller["id"], "3100000001")
    lost_by_biller = await paid_order(client, alice, biller["id"], "3100000002")
    other_amount = await paid_order(client, alice, biller["id"], "3100000003")
    rejected = await paid_order(client, alice, biller["id"], "9200000001")
    gave_up = await paid_order(client, alice, biller["id"], "9400000001")
    with billpay_settings(billpay_confirm_max_attempts=1):  # the lost answer is never asked about again
        await run_jobs()
    assert await state_of(gave_up["id"]) == "refunded"  # refunded, yet the biller has the payment
    assert await state_of(rejected["id"]) == "refunded"
    await SimBillerPayment.filter(order_ref=lost_by_biller["ref"]).delete()
    await SimBillerPayment.filter(order_ref=other_amount["ref"]).update(amount=other_amount["amount"] + 100)
    today = business_day()
    await SimBillerPayment.create(
        biller_code=biller["code"],
        order_ref="BP-NOT-OURS",
        account_no="3100000009",
        amount=5_000,
        accepted=True,
        business_day=today,
    )

    forbidden = await client.post(
        "/ops/v1/billpay/reconciliations", json={"day": str(today)}, headers=auditor
    )
    assert forbidden.status_code == 403
    queued = await client.post(
        "/ops/v1/billpay/reconciliations", json={"day": str(today), "biller_id": biller["id"]}, headers=ops
    )
    assert queued.status_code == 202 and queued.json()["biller_ids"] == [biller["id"]]
    await run_jobs()

    runs = (await client.get("/ops/v1/billpay/reconciliations", headers=auditor)).json()["items"]
    assert len(runs) == 1
    run = runs[0]
    assert (run["matched"], run["mismatched"]) == (1, 4)
    assert run["our_total"] == matched["amount"] + lost_by_biller["amount"] + other_amount["amount"]
    mismatches = (await client.get("/ops/v1/billpay/mismatches", headers=auditor)).json()["items"]
    kinds = {m["order_ref"]: m["kind"] for m in mismatches}
    assert kinds == {
        lost_by_biller["ref"]: "missing_at_biller",
        other_amount["ref"]: "amount_differs",
        gave_up["ref"]: "paid_but_not_succeeded",
        "BP-NOT-OURS": "unknown_order",
    }
    gave_up_row = next(m for m in mismatches if m["order_ref"] == gave_up["ref"])
    assert gave_up_row["our_state"] == "refunded" and gave_up_row["biller_amount"] == gave_up["amount"]

    resolved = await client.post(
        f"/ops/v1/billpay/mismatches/{gave_up_row['id']}/resolve",
        json={"note": "collected from the biller, ticket 4411"},
        headers=ops,
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_by"] is not None
    again = await client.post(
        f"/ops/v1/billpay/mismatches/{gave_up_row['id']}/resolve", json={"note": "twice"}, headers=ops
    )
    assert again.status_code == 409 and again.json()["code"] == "bill.mismatch_resolved"
    assert await AuditEntry.filter(
        action="billpay.mismatch_resolve", target_id=str(gave_up_row["id"])
    ).exists()

    # Rerunning the day replaces the open mismatches and keeps the resolved one.
    await client.post("/ops/v1/billpay/reconciliations", json={"day": str(today)}, headers=ops)
    await run_jobs()
    still_open = (await client.get("/ops/v1/billpay/mismatches", headers=ops)).json()["items"]
    assert {m["order_ref"] for m in still_open} == set(kinds) - {gave_up["ref"]}
    done = (await client.get("/ops/v1/billpay/mismatches?resolved=true", headers=ops)).json()["items"]
    assert [m["id"] for m in done] == [gave_up_row["id"]]
    assert len((await client.get("/ops/v1/billpay/reconciliations", headers=ops)).json()["items"]) == 1


async def test_nightly_run_picks_yesterday_after_two_in_the_morning(client: httpx.AsyncClient) -> None:
    biller = await make_biller(client)
    # 17:30 UTC is 01:30 in Shanghai: too early. 18:30 UTC is 02:30 there: reconcile the day before.
    assert reconciliation.day_to_reconcile(datetime(2026, 11, 21, 17, 30, tzinfo=UTC)) is None
    day = reconciliation.day_to_reconcile(datetime(2026, 11, 21, 18, 30, tzinfo=UTC))
    assert str(day) == "2026-11-21"
    assert day is not None
    assert await reconciliation.billers_pending(day) == [biller["id"]]
    await reconciliation.reconcile(biller["id"], day)
    assert await reconciliation.billers_pending(day) == []
    await Biller.create(code="late", type="gas", name="燃气", region="上海市", adapter="simulated")
    assert len(await reconciliation.billers_pending(day)) == 1
