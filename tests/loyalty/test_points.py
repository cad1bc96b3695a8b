"""Earning at the till, paying with points, refunds and the members' view of their points."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.core.timeutil import utcnow
from loyalty.ledger import postings as ledger
from loyalty.ledger.balances import last_valid_day
from loyalty.ledger.postings import lot_expiry
from loyalty.models import Journal, LotMove, PointsLot, Sale
from tests.helpers import login_operator
from tests.loyalty.support import (
    active_merchant,
    assert_ledger_sound,
    balance,
    expired_member_code,
    joined_member,
    member_code,
    sale,
    signed,
)


async def test_a_sale_earns_points_at_the_default_rate(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client, "Noodle House")
    member, _ = await joined_member(client)

    response = await sale(client, merchant, member, 3850)

    assert response.status_code == 201, response.text
    assert response.json()["points"] == 38  # 1 point per yuan, rounded down
    assert await balance(client, member) == 38
    history = (await client.get("/mp/v1/points/history", headers=member)).json()["items"]
    assert [(h["kind"], h["source"], h["points"], h["merchant_name"]) for h in history] == [
        ("earn", "sale", 38, "Noodle House")
    ]
    expiring = (await client.get("/mp/v1/points/expiring", headers=member)).json()
    assert expiring == [{"last_day": last_valid_day(lot_expiry(utcnow())).isoformat(), "points": 38}]
    await assert_ledger_sound()


async def test_merchant_terms_set_by_ops_decide_the_rate(client: httpx.AsyncClient) -> None:
    merchant, merchant_id = await active_merchant(client)
    member, _ = await joined_member(client)
    ops = await login_operator(
        client
    )  # an admin: this merchant is in no grid (grid managers: their grids only)
    terms = {"earn_rate": 250, "point_value_fen": 2}

    put = await client.put(f"/ops/v1/loyalty/merchants/{merchant_id}/terms", json=terms, headers=ops)
    assert put.status_code == 200, put.text
    assert put.json() == {"merchant_id": merchant_id, **terms, "category": None, "own_terms": True}
    # The category is the merchant's business category, not a loyalty setting of its own.
    own_category = await client.put(
        f"/ops/v1/loyalty/merchants/{merchant_id}/terms", json={**terms, "category": "dining"}, headers=ops
    )
    assert own_category.status_code == 422 and own_category.json()["errors"][0]["field"] == "category"
    assert (await client.get("/merchant/v1/loyalty/terms", headers=merchant)).json()["earn_rate"] == 250

    response = await sale(client, merchant, member, 1000)
    assert response.json()["points"] == 25  # ¥10 at 2.5 points per yuan
    audit = await client.get("/ops/v1/audit?action=loyalty.terms.set", headers=await login_operator(client))
    assert len(audit.json()["items"]) == 1


async def test_the_same_receipt_twice_records_one_sale(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)

    first = await sale(client, merchant, member, 2000, receipt_no="R-1")
    again = await sale(client, merchant, member, 2000, receipt_no="R-1")
    other = await sale(client, merchant, member, 2500, receipt_no="R-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 409 and other.json()["code"] == "sale.reference_conflict"
    assert await balance(client, member) == 20
    assert await Sale.all().count() == 1 and await Journal.all().count() == 1


async def test_an_idempotency_key_replays_the_sale(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    body = {"member_code": await member_code(client, member), "amount_fen": 5000}
    headers = {**merchant, "Idempotency-Key": "till-7-0001"}

    first = await client.post("/merchant/v1/sales", json=body, headers=headers)
    again = await client.post("/merchant/v1/sales", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await balance(client, member) == 50


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (0, "amount_fen"),
        (-100, "amount_fen"),
        (12.5, "amount_fen"),
        ("1200", "amount_fen"),
        (5_000_001, "amount_fen"),
    ],
)
async def test_bad_amounts_are_refused_naming_the_field(
    client: httpx.AsyncClient, amount: object, field: str
) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    body = {"member_code": await member_code(client, member), "amount_fen": amount}

    response = await client.post("/merchant/v1/sales", json=body, headers=merchant)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await Sale.all().count() == 0


async def test_forged_expired_and_foreign_member_codes(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    good = await member_code(client, member)
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    tampered = good.replace(f"LM1.{member_id}.", f"LM1.{member_id + 1}.", 1)

    cases = [
        (forged, 400, "member_code.invalid"),
        (tampered, 400, "member_code.invalid"),
        ("hello", 400, "member_code.invalid"),
        (expired_member_code(member_id), 410, "member_code.expired"),
        (signed("LM1.999999.9999999999.abcdefghijkl"), 404, "member.not_found"),
    ]
    for code, status, problem in cases:
        response = await client.post(
            "/merchant/v1/sales", json={"member_code": code, "amount_fen": 100}, headers=merchant
        )
        assert (response.status_code, response.json()["code"]) == (status, problem), code
    assert await Sale.all().count() == 0


async def test_only_joined_members_get_a_code_and_only_active_merchants_record(
    client: httpx.AsyncClient,
) -> None:
    from tests.helpers import login_member, signup_merchant

    outsider = await login_member(client)
    response = await client.post("/mp/v1/me/code", headers=outsider)
    assert response.status_code == 409 and response.json()["code"] == "member.not_joined"

    draft_merchant, _ = await signup_merchant(client)
    member, _ = await joined_member(client)
    response = await sale(client, draft_merchant, member, 1000)
    assert response.status_code == 409 and response.json()["code"] == "merchant.not_active"


async def test_paying_with_points_uses_the_code_once_and_never_overdraws(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    await sale(client, merchant, member, 10_000)  # 100 points
    code = await member_code(client, member)

    paid = await client.post(
        "/merchant/v1/points-payments", json={"member_code": code, "points": 30}, headers=merchant
    )
    reused = await client.post(
        "/merchant/v1/points-payments", json={"member_code": code, "points": 30}, headers=merchant
    )
    too_much = await client.post(
        "/merchant/v1/points-payments",
        json={"member_code": await member_code(client, member), "points": 71},
        headers=merchant,
    )

    assert paid.status_code == 201 and paid.json()["value_fen"] == 30
    assert reused.status_code == 409 and reused.json()["code"] == "member_code.used"
    assert too_much.status_code == 409 and too_much.json()["code"] == "points.insufficient"
    assert await balance(client, member) == 70
    assert await Journal.filter(kind="spend").count() == 1
    await assert_ledger_sound()


async def test_reversing_a_points_payment_restores_the_same_lots(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    await sale(client, merchant, member, 5000)
    await sale(client, merchant, member, 5000)
    code = await member_code(client, member)
    paid = (
        await client.post(
            "/merchant/v1/points-payments", json={"member_code": code, "points": 70}, headers=merchant
        )
    ).json()
    assert [lot.remaining for lot in await PointsLot.all().order_by("id")] == [0, 30]

    reversed_ = await client.post(f"/merchant/v1/points-payments/{paid['id']}/reverse", headers=merchant)
    again = await client.post(f"/merchant/v1/points-payments/{paid['id']}/reverse", headers=merchant)

    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"
    assert again.status_code == 409 and again.json()["code"] == "points_payment.reversed"
    assert await balance(client, member) == 100
    assert [lot.remaining for lot in await PointsLot.all().order_by("id")] == [50, 50]
    await assert_ledger_sound()


async def test_refunding_a_sale_takes_the_points_back_and_writes_off_what_was_spent(
    client: httpx.AsyncClient,
) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    first = (await sale(client, merchant, member, 10_000)).json()  # 100 points
    code = await member_code(client, member)
    await client.post(
        "/merchant/v1/points-payments", json={"member_code": code, "points": 80}, headers=merchant
    )

    refund = await client.post(f"/merchant/v1/sales/{first['id']}/refund", headers=merchant)
    twice = await client.post(f"/merchant/v1/sales/{first['id']}/refund", headers=merchant)

    assert refund.status_code == 200 and refund.json()["status"] == "refunded"
    assert twice.status_code == 409 and twice.json()["code"] == "sale.refunded"
    assert await balance(client, member) == 0  # 20 left were taken back, 80 spent are written off
    reversal = await Journal.get(kind="reversal")
    assert reversal.points == 20
    history = (await client.get("/mp/v1/points/history", headers=member)).json()["items"]
    assert history[0]["kind"] == "reversal" and history[0]["points"] == -20
    await assert_ledger_sound()


async def test_other_merchants_sales_are_not_found(client: httpx.AsyncClient) -> None:
    merchant_a, _ = await active_merchant(client, "A")
    merchant_b, _ = await active_merchant(client, "B")
    member, _ = await joined_member(client)
    sold = (await sale(client, merchant_a, member, 1000)).json()

    assert (await client.get(f"/merchant/v1/sales/{sold['id']}", headers=merchant_b)).status_code == 404
    refund = await client.post(f"/merchant/v1/sales/{sold['id']}/refund", headers=merchant_b)
    assert refund.status_code == 404 and refund.json()["code"] == "sale.not_found"
    assert (await client.get("/merchant/v1/sales", headers=merchant_b)).json()["items"] == []


async def test_expired_lots_are_retired_by_the_nightly_job(client: httpx.AsyncClient) -> None:
    from loyalty.ledger.tasks import expire_points
    from tests.helpers import run_jobs

    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    await sale(client, merchant, member, 4200)
    lot = await PointsLot.get(member_id=member_id)

    await expire_points((lot.expires_at - timedelta(seconds=1)).isoformat())
    await run_jobs()
    assert await balance(client, member) == 42

    await expire_points(lot.expires_at.isoformat())
    await run_jobs()
    await expire_points(lot.expires_at.isoformat())  # a second run finds nothing left to retire
    await run_jobs()

    assert await balance(client, member) == 0
    assert await Journal.filter(kind="expire").count() == 1
    assert (await client.get("/mp/v1/points/expiring", headers=member)).json() == []
    history = (await client.get("/mp/v1/points/history", headers=member)).json()["items"]
    assert (history[0]["kind"], history[0]["points"]) == ("expire", -42)
    await assert_ledger_sound()


async def test_spending_after_expiry_never_uses_expired_points(client: httpx.AsyncClient) -> None:
    from loyalty.models import AccountKind

    _, member_id = await joined_member(client)
    old = await ledger.post_earn(
        member_id, 50, source="campaign", reference="old", funding=[(AccountKind.POOL, 0, 50)]
    )
    old_lot = await PointsLot.get(journal_id=old.journal_id)
    later = old_lot.expires_at + timedelta(days=40)
    await ledger.post_earn(
        member_id, 30, source="campaign", reference="new", funding=[(AccountKind.POOL, 0, 30)], at=later
    )

    with pytest.raises(Exception) as refused:
        await ledger.post_spend(
            member_id, 40, source="benefit", reference="s1", counterpart=(AccountKind.REDEMPTION, 0), at=later
        )
    assert getattr(refused.value, "code", None) == "points.insufficient"
    assert await Journal.filter(kind="expire").count() == 0  # the refused spend wrote nothing

    spent = await ledger.post_spend(
        member_id, 20, source="benefit", reference="s2", counterpart=(AccountKind.REDEMPTION, 0), at=later
    )
    assert spent.points == 20
    assert await Journal.filter(kind="expire").count() == 1  # the expired lot was retired first
    moves = await LotMove.filter(journal_id=spent.journal_id)
    assert [m.lot_id for m in moves] != [old_lot.id]
    await assert_ledger_sound()
