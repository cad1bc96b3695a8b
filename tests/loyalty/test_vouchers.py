"""Benefits catalogue, vouchers, redemption at the till (exactly once) and reversal."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx

from app.core.timeutil import utcnow
from loyalty.models import Benefit, Voucher, VoucherRedemption
from tests.helpers import login_operator
from tests.loyalty.support import (
    active_merchant,
    assert_ledger_sound,
    balance,
    joined_member,
    sale,
    signed,
)

COFFEE_VOUCHER: dict[str, Any] = {
    "name": "¥5 off coffee",
    "kind": "cash",
    "face_value_fen": 500,
    "min_spend_fen": 1500,
    "eligibility": "all",
    "valid_days": 30,
    "stock_total": 10,
    "per_member_limit": 2,
    "price_points": 300,
}


async def published_benefit(client: httpx.AsyncClient, **overrides: Any) -> int:
    """A benefit ops created and published."""
    ops = await login_operator(client, "campaign_manager")
    created = await client.post("/ops/v1/benefits", json={**COFFEE_VOUCHER, **overrides}, headers=ops)
    assert created.status_code == 201, created.text
    benefit_id = int(created.json()["id"])
    published = await client.post(f"/ops/v1/benefits/{benefit_id}/lifecycle/publish", headers=ops)
    assert published.status_code == 200, published.text
    return benefit_id


async def bought_voucher(
    client: httpx.AsyncClient, merchant: dict[str, str], member: dict[str, str], benefit_id: int
) -> int:
    """The member earns 300 points at the merchant and redeems them for a voucher."""
    await sale(client, merchant, member, 30_000)
    response = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def token_for(client: httpx.AsyncClient, member: dict[str, str], voucher_id: int) -> str:
    response = await client.post(f"/mp/v1/vouchers/{voucher_id}/token", headers=member)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def redeem(
    client: httpx.AsyncClient, merchant: dict[str, str], token: str, bill: int = 2800
) -> httpx.Response:
    return await client.post(
        "/merchant/v1/redemptions", json={"token": token, "bill_amount_fen": bill}, headers=merchant
    )


async def test_points_buy_a_voucher_that_the_till_redeems_once(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    benefit_id = await published_benefit(client)
    catalogue = (await client.get("/mp/v1/benefits", headers=member)).json()["items"]
    assert [b["id"] for b in catalogue] == [benefit_id]

    voucher_id = await bought_voucher(client, merchant, member, benefit_id)
    assert await balance(client, member) == 0
    assert (await Benefit.get(id=benefit_id)).stock_left == 9

    token = await token_for(client, member, voucher_id)
    first = await redeem(client, merchant, token)
    replay = await redeem(client, merchant, token)

    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("discount_fen", "payable_fen", "settlement_fen", "status")} == {
        "discount_fen": 500,
        "payable_fen": 2300,
        "settlement_fen": 500,
        "status": "redeemed",
    }
    assert replay.status_code == 409 and replay.json()["code"] == "voucher.used"
    used = (await client.get("/mp/v1/vouchers?status=used", headers=member)).json()["items"]
    assert [v["id"] for v in used] == [voucher_id]
    assert (await client.get("/mp/v1/vouchers?status=active", headers=member)).json()["items"] == []
    await assert_ledger_sound()


async def test_a_thousand_concurrent_replays_of_one_token_redeem_once(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    voucher_id = await bought_voucher(client, merchant, member, await published_benefit(client))
    token = await token_for(client, member, voucher_id)

    responses = await asyncio.gather(*(redeem(client, merchant, token) for _ in range(1000)))

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, {s: statuses.count(s) for s in set(statuses)}
    assert {r.json()["code"] for r in responses if r.status_code != 201} <= {
        "voucher.used",
        "voucher.token_used",
    }
    assert await VoucherRedemption.all().count() == 1


async def test_forged_expired_foreign_and_too_small_bills_are_refused(client: httpx.AsyncClient) -> None:
    merchant, merchant_id = await active_merchant(client, "Coffee A")
    other, _ = await active_merchant(client, "Coffee B")
    member, member_id = await joined_member(client)
    listed = await published_benefit(client, eligibility="list", merchant_ids=[merchant_id])
    voucher_id = await bought_voucher(client, merchant, member, listed)
    token = await token_for(client, member, voucher_id)

    forged = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    stale = signed(f"LV1.{voucher_id}.{member_id}.{int(time.time()) - 5}.abcdefghijkl")
    cases = [
        (merchant, forged, 2800, 400, "voucher.token_invalid"),
        (merchant, stale, 2800, 410, "voucher.token_expired"),
        (other, token, 2800, 403, "voucher.not_valid_here"),
        (merchant, token, 1499, 422, "voucher.min_spend_not_met"),
    ]
    for till, code, bill, status, problem in cases:
        response = await redeem(client, till, code, bill)
        assert (response.status_code, response.json()["code"]) == (status, problem), problem
    assert (await Voucher.get(id=voucher_id)).status == "active"

    await Voucher.filter(id=voucher_id).update(
        valid_until=utcnow() - timedelta(seconds=1)
    )  # its validity ran out
    expired = await redeem(client, merchant, token)
    assert (expired.status_code, expired.json()["code"]) == (410, "voucher.expired")
    listing = (await client.get("/mp/v1/vouchers?status=expired", headers=member)).json()["items"]
    assert [v["id"] for v in listing] == [voucher_id]


async def test_category_benefits_follow_the_merchants_business_category(client: httpx.AsyncClient) -> None:
    coffee, _ = await active_merchant(client, "Coffee", category="catering")
    chemist, _ = await active_merchant(client, "Chemist", category="pharmacy")
    uncategorised, _ = await active_merchant(client, "Unknown")
    member, _ = await joined_member(client)
    benefit_id = await published_benefit(client, eligibility="category", categories=["catering", "fitness"])
    voucher_id = await bought_voucher(client, coffee, member, benefit_id)

    refused = await redeem(client, chemist, await token_for(client, member, voucher_id))
    unknown = await redeem(client, uncategorised, await token_for(client, member, voucher_id))
    accepted = await redeem(client, coffee, await token_for(client, member, voucher_id))

    assert refused.status_code == 403 and unknown.status_code == 403 and accepted.status_code == 201
    terms = (await client.get("/merchant/v1/loyalty/terms", headers=coffee)).json()
    assert terms["category"] == "catering"


async def test_reversal_within_24_hours_restores_the_voucher_but_not_the_token(
    client: httpx.AsyncClient,
) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    voucher_id = await bought_voucher(client, merchant, member, await published_benefit(client))
    token = await token_for(client, member, voucher_id)
    redemption = (await redeem(client, merchant, token)).json()

    reversed_ = await client.post(f"/merchant/v1/redemptions/{redemption['id']}/reverse", headers=merchant)
    twice = await client.post(f"/merchant/v1/redemptions/{redemption['id']}/reverse", headers=merchant)
    old_token = await redeem(client, merchant, token)
    fresh = await redeem(client, merchant, await token_for(client, member, voucher_id))

    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"
    assert twice.status_code == 409 and twice.json()["code"] == "redemption.reversed"
    assert old_token.status_code == 409 and old_token.json()["code"] == "voucher.token_used"
    assert fresh.status_code == 201

    await VoucherRedemption.filter(id=fresh.json()["id"]).update(created_at=utcnow() - timedelta(hours=25))
    late = await client.post(f"/merchant/v1/redemptions/{fresh.json()['id']}/reverse", headers=merchant)
    assert late.status_code == 409 and late.json()["code"] == "reversal.window_closed"


async def test_redemptions_are_scoped_to_their_merchant(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client, "A")
    other, _ = await active_merchant(client, "B")
    member, _ = await joined_member(client)
    voucher_id = await bought_voucher(client, merchant, member, await published_benefit(client))
    redemption = (await redeem(client, merchant, await token_for(client, member, voucher_id))).json()

    assert (
        await client.get(f"/merchant/v1/redemptions/{redemption['id']}", headers=other)
    ).status_code == 404
    reverse = await client.post(f"/merchant/v1/redemptions/{redemption['id']}/reverse", headers=other)
    assert reverse.status_code == 404 and reverse.json()["code"] == "redemption.not_found"
    assert (await client.get("/merchant/v1/redemptions", headers=other)).json()["items"] == []
    assert len((await client.get("/merchant/v1/redemptions", headers=merchant)).json()["items"]) == 1


async def test_limit_and_insufficient_points_write_nothing(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    benefit_id = await published_benefit(client, per_member_limit=1)
    await sale(client, merchant, member, 70_000)  # 700 points

    first = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)
    second = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)
    other = await published_benefit(client, price_points=401)
    poor = await client.post(f"/mp/v1/benefits/{other}/redeem", headers=member)

    assert first.status_code == 201
    assert second.status_code == 409 and second.json()["code"] == "benefit.limit_reached"
    assert poor.status_code == 409 and poor.json()["code"] == "points.insufficient"
    assert await balance(client, member) == 400
    assert (await Benefit.get(id=benefit_id)).stock_left == 9
    assert (await Benefit.get(id=other)).stock_left == 10
    await assert_ledger_sound()


async def test_fifty_concurrent_spends_never_overdraw(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    benefit_id = await published_benefit(client, price_points=30, stock_total=None, per_member_limit=100)
    await sale(client, merchant, member, 100_000)  # 1,000 points

    responses = await asyncio.gather(
        *(client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member) for _ in range(50))
    )

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 33 and statuses.count(409) == 17, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"points.insufficient"}
    assert await balance(client, member) == 10
    assert await Voucher.filter(member_id=member_id).count() == 33
    await assert_ledger_sound()


async def test_sold_out_stops_redeeming(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    benefit_id = await published_benefit(client, stock_total=1, price_points=10, per_member_limit=5)
    await sale(client, merchant, member, 10_000)

    first = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)
    second = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)

    assert first.status_code == 201
    assert second.status_code == 409 and second.json()["code"] == "benefit.sold_out"
    assert await balance(client, member) == 90


async def test_merchant_proposals_need_approval(client: httpx.AsyncClient) -> None:
    merchant, merchant_id = await active_merchant(client)
    other, _ = await active_merchant(client, "Elsewhere")
    member, _ = await joined_member(client)
    proposal = {
        "name": "Free cookie",
        "kind": "gift",
        "face_value_fen": 800,
        "valid_days": 14,
        "price_points": 100,
    }
    created = await client.post("/merchant/v1/benefits", json=proposal, headers=merchant)
    assert created.status_code == 201, created.text
    benefit = created.json()
    assert (benefit["status"], benefit["funder"], benefit["merchant_ids"]) == (
        "pending_review",
        "merchant",
        [merchant_id],
    )
    assert (await client.get("/mp/v1/benefits", headers=member)).json()["items"] == []
    assert (await client.get(f"/merchant/v1/benefits/{benefit['id']}", headers=other)).status_code == 404

    approver = await login_operator(client, "approver")
    approved = await client.post(f"/ops/v1/benefits/{benefit['id']}/review/approve", headers=approver)
    again = await client.post(
        f"/ops/v1/benefits/{benefit['id']}/review/reject", json={"reason": "late"}, headers=approver
    )

    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert again.status_code == 409 and again.json()["code"] == "benefit.invalid_transition"
    voucher_id = await bought_voucher(client, merchant, member, benefit["id"])
    elsewhere = await redeem(client, other, await token_for(client, member, voucher_id))
    here = await redeem(client, merchant, await token_for(client, member, voucher_id))
    assert elsewhere.status_code == 403
    assert here.status_code == 201 and here.json()["discount_fen"] == 0 and here.json()["settlement_fen"] == 0


async def test_benefit_input_is_checked_field_by_field(client: httpx.AsyncClient) -> None:
    ops = await login_operator(client, "campaign_manager")
    cases = [
        ({"kind": "cash", "face_value_fen": 0}, "face_value_fen"),
        ({"kind": "discount", "face_value_fen": 0}, "discount_percent"),
        ({"valid_days": None}, "valid_until"),
        ({"valid_days": None, "valid_until": "2020-01-01T00:00:00Z"}, "valid_until"),
        ({"eligibility": "category"}, "categories"),
        ({"eligibility": "category", "categories": ["coffee"]}, "categories.0"),
        ({"eligibility": "list", "merchant_ids": [999]}, "merchant_ids"),
        ({"eligibility": "bill_payment", "kind": "gift", "face_value_fen": 0}, "kind"),
        ({"price_points": -1}, "price_points"),
        ({"per_member_limit": 0}, "per_member_limit"),
        ({"stock_total": 1.5}, "stock_total"),
    ]
    for overrides, field in cases:
        response = await client.post("/ops/v1/benefits", json={**COFFEE_VOUCHER, **overrides}, headers=ops)
        assert response.status_code == 422, (overrides, response.text)
        assert response.json()["errors"][0]["field"] == field, (overrides, response.json())
    assert await Benefit.all().count() == 0


async def test_stock_can_be_added_and_removed_but_not_below_what_is_left(client: httpx.AsyncClient) -> None:
    ops = await login_operator(client, "campaign_manager")
    benefit_id = await published_benefit(client)

    added = await client.patch(f"/ops/v1/benefits/{benefit_id}", json={"add_stock": 5}, headers=ops)
    too_much = await client.patch(f"/ops/v1/benefits/{benefit_id}", json={"add_stock": -16}, headers=ops)
    paused = await client.post(f"/ops/v1/benefits/{benefit_id}/lifecycle/pause", headers=ops)

    assert (added.json()["stock_total"], added.json()["stock_left"]) == (15, 15)
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "add_stock"
    assert paused.json()["status"] == "paused"
    member, _ = await joined_member(client)
    assert (await client.get(f"/mp/v1/benefits/{benefit_id}", headers=member)).status_code == 404
