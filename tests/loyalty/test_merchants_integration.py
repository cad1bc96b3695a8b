"""Merchants × loyalty: store scans make members known, grid dashboard figures, consistency rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from app.core.timeutil import business_day, business_day_bounds, utcnow
from loyalty.models import Member, MerchantMember
from loyalty.schemas import BenefitIn, ProgramOut
from loyalty.till.dashboard import FIGURES
from merchants.models import Category, Merchant
from tests.helpers import login_member, login_operator
from tests.loyalty.support import assert_ledger_sound, joined_member, member_code, sale
from tests.loyalty.test_vouchers import published_benefit, redeem, token_for
from tests.merchants.support import active_merchant, create_branch


async def store_code(client: httpx.AsyncClient, owner: dict[str, str], store_id: int) -> str:
    """The payload of a store's QR code, as the console shows it."""
    response = await client.get(f"/merchant/v1/stores/{store_id}/qr", headers=owner)
    assert response.status_code == 200, response.text
    return str(response.json()["payload"])


async def scan(client: httpx.AsyncClient, payload: str, member: dict[str, str] | None) -> httpx.Response:
    """Scan a store QR code from the mini-program (anonymously without a member header)."""
    return await client.post("/mp/v1/stores/scan", json={"payload": payload}, headers=member or {})


async def members_listed(client: httpx.AsyncClient, owner: dict[str, str]) -> dict[int, int]:
    """The merchant console's members list: member id → visits."""
    response = await client.get("/merchant/v1/members", headers=owner)
    assert response.status_code == 200, response.text
    return {m["member_id"]: m["visits"] for m in response.json()["items"]}


# -- 1. scanning a store QR code -------------------------------------------------------------------


async def test_scan_makes_a_member_known_and_listed_only_with_consent(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    owner, merchant_id, store_id = await active_merchant(client, admin)
    other_owner, _, _ = await active_merchant(client, admin, "Other Shop")
    payload = await store_code(client, owner, store_id)
    sharing, sharing_id = await joined_member(client, share_profile=True)
    shy, shy_id = await joined_member(client, share_profile=False)

    # Anonymous: the store resolves, nobody becomes known.
    anonymous = await scan(client, payload, None)
    assert anonymous.status_code == 200 and anonymous.json()["id"] == store_id
    assert await MerchantMember.filter(merchant_id=merchant_id).count() == 0

    first = await scan(client, payload, sharing)
    assert first.status_code == 200 and first.json()["merchant_id"] == merchant_id
    assert await members_listed(client, owner) == {sharing_id: 1}
    assert (await scan(client, payload, sharing)).status_code == 200
    assert (await scan(client, payload, shy)).status_code == 200
    # Both are known (first seen, last seen, visits); only the consenting one is listed.
    known = {k.member_id: k for k in await MerchantMember.filter(merchant_id=merchant_id)}
    assert {m: k.visits for m, k in known.items()} == {sharing_id: 2, shy_id: 1}
    assert known[sharing_id].first_seen_at < known[sharing_id].last_seen_at
    assert await members_listed(client, owner) == {sharing_id: 2}
    assert await members_listed(client, other_owner) == {}

    # A member who never joined is known too, and listed once they join and consent.
    newcomer = await login_member(client)
    assert (await scan(client, payload, newcomer)).status_code == 200
    assert len(await members_listed(client, owner)) == 1
    joined = await client.post("/mp/v1/me/join", json={"share_profile": True}, headers=newcomer)
    assert set(await members_listed(client, owner)) == {sharing_id, joined.json()["id"]}

    # A token that is sent must be valid; anonymous callers send none.
    forged = await scan(client, payload, {"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    assert (await scan(client, payload + "x", sharing)).json()["code"] == "store.qr_invalid"


async def test_scan_at_a_suspended_merchant_is_refused_and_counts_nothing(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    owner, merchant_id, store_id = await active_merchant(client, admin)
    payload = await store_code(client, owner, store_id)
    member, member_id = await joined_member(client)
    assert (await scan(client, payload, member)).status_code == 200
    suspended = await client.post(
        f"/ops/v1/merchants/{merchant_id}/suspend", json={"reason": "inspection"}, headers=admin
    )
    assert suspended.status_code == 200, suspended.text

    refused = await scan(client, payload, member)
    assert refused.status_code == 404 and refused.json()["code"] == "store.not_found"
    assert (await scan(client, payload, None)).status_code == 404
    known = await MerchantMember.get(merchant_id=merchant_id, member_id=member_id)
    assert known.visits == 1


async def test_activity_is_recorded_cheaply(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    owner, merchant_id, store_id = await active_merchant(client, admin)
    payload = await store_code(client, owner, store_id)
    member, member_id = await joined_member(client, "regular")
    long_ago = utcnow() - timedelta(days=3)
    await Member.filter(id=member_id).update(last_active_at=long_ago)
    await Merchant.filter(id=merchant_id).update(last_activity_at=long_ago)

    assert (await scan(client, payload, member)).status_code == 200
    today_starts = business_day_bounds(business_day())[0]
    first = (await Member.get(id=member_id)).last_active_at
    merchant_seen = (await Merchant.get(id=merchant_id)).last_activity_at
    assert first >= today_starts
    assert merchant_seen is not None and merchant_seen > long_ago + timedelta(days=2)

    # Later the same business day: neither the member's day nor the recent merchant activity is rewritten.
    assert (await scan(client, payload, member)).status_code == 200
    assert (await client.post("/mp/v1/auth/login", json={"code": "dev:regular"})).status_code == 200
    assert (await Member.get(id=member_id)).last_active_at == first
    assert (await Merchant.get(id=merchant_id)).last_activity_at == merchant_seen

    # A member last active yesterday is recorded again at their first activity today.
    yesterday = today_starts - timedelta(minutes=1)
    await Member.filter(id=member_id).update(last_active_at=yesterday)
    assert (await scan(client, payload, member)).status_code == 200
    assert (await Member.get(id=member_id)).last_active_at >= today_starts


# -- 2. grid dashboard figures from loyalty --------------------------------------------------------


async def test_grid_dashboard_figures_come_from_loyalty_and_drive_the_inactivity_flag(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_operator(client)
    manager = await login_operator(client, "grid_manager")
    grid = await create_branch(client, manager)
    noodles, noodles_id, noodles_store = await active_merchant(client, admin, "Noodles")
    coffee, coffee_id, _ = await active_merchant(client, admin, "Coffee")
    _, idle_id, _ = await active_merchant(client, admin, "Idle")
    long_ago = utcnow() - timedelta(days=40)
    await Merchant.filter(id__in=[noodles_id, coffee_id, idle_id]).update(last_activity_at=long_ago)
    before = await client.get(f"/ops/v1/grids/{grid}/dashboard", headers=manager)
    assert before.json()["inactive_merchants"] == 3
    assert before.json()["metrics"] == dict.fromkeys(FIGURES, 0)

    alice, _ = await joined_member(client)
    bob, _ = await joined_member(client)
    assert (await scan(client, await store_code(client, noodles, noodles_store), alice)).status_code == 200
    assert (await sale(client, noodles, alice, 10_000)).status_code == 201  # 100 points
    assert (await sale(client, noodles, bob, 34_000)).status_code == 201  # 340 points
    refunded = await sale(client, noodles, alice, 5_000)
    refund = await client.post(f"/merchant/v1/sales/{refunded.json()['id']}/refund", headers=noodles)
    assert refund.status_code == 200, refund.text
    paid = await client.post(
        "/merchant/v1/points-payments",
        json={"member_code": await member_code(client, bob), "points": 40},
        headers=noodles,
    )
    assert paid.status_code == 201, paid.text
    benefit_id = await published_benefit(client)
    voucher = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=bob)
    assert voucher.status_code == 201, voucher.text
    redeemed = await redeem(client, coffee, await token_for(client, bob, voucher.json()["id"]), 2_000)
    assert redeemed.status_code == 201, redeemed.text

    lines = await client.get(f"/ops/v1/grids/{grid}/merchants", params={"limit": 10}, headers=manager)
    by_name = {m["name"]: m for m in lines.json()["items"]}
    assert by_name["Noodles"]["metrics"] | {"last_activity_ts": 0} == {
        "members_joined": 2,
        "sales_count": 2,
        "sales_fen": 44_000,
        "points_issued": 440,
        "points_redeemed": 40,
        "vouchers_redeemed": 0,
        "last_activity_ts": 0,
    }
    coffee_figures = by_name["Coffee"]["metrics"]
    assert (coffee_figures["members_joined"], coffee_figures["vouchers_redeemed"]) == (1, 1)
    assert (coffee_figures["sales_count"], coffee_figures["points_issued"]) == (0, 0)
    assert by_name["Idle"]["metrics"] == dict.fromkeys(FIGURES, 0)
    now_ts = int(utcnow().timestamp())
    for name in ("Noodles", "Coffee"):
        assert now_ts - 60 <= by_name[name]["metrics"]["last_activity_ts"] <= now_ts + 1
        assert by_name[name]["inactive"] is False
    assert by_name["Idle"]["inactive"] is True

    dashboard = (await client.get(f"/ops/v1/grids/{grid}/dashboard", headers=manager)).json()
    assert dashboard["inactive_merchants"] == 1
    assert dashboard["metrics"] | {"last_activity_ts": 0} == {
        "members_joined": 3,
        "sales_count": 2,
        "sales_fen": 44_000,
        "points_issued": 440,
        "points_redeemed": 40,
        "vouchers_redeemed": 1,
        "last_activity_ts": 0,
    }
    assert dashboard["metrics"]["last_activity_ts"] == max(
        by_name[n]["metrics"]["last_activity_ts"] for n in ("Noodles", "Coffee")
    )
    idle_only = await client.get(
        f"/ops/v1/grids/{grid}/merchants", params={"inactive_only": True}, headers=manager
    )
    assert [m["id"] for m in idle_only.json()["items"]] == [idle_id]
    await assert_ledger_sound()


# -- 3. consistency --------------------------------------------------------------------------------


async def test_a_suspended_merchants_benefits_leave_the_catalogue_and_cannot_be_redeemed(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_operator(client)
    approver = await login_operator(client, "approver")
    campaigns = await login_operator(client, "campaign_manager")
    owner, merchant_id, _ = await active_merchant(client, admin, "Cookie Shop")
    member, member_id = await joined_member(client)
    proposal = {"name": "Free cookie", "kind": "gift", "face_value_fen": 800, "valid_days": 14}
    own = await client.post("/merchant/v1/benefits", json={**proposal, "price_points": 100}, headers=owner)
    assert own.status_code == 201, own.text
    approved = await client.post(f"/ops/v1/benefits/{own.json()['id']}/review/approve", headers=approver)
    assert approved.status_code == 200, approved.text
    listed = await published_benefit(client, name="¥5 here", eligibility="list", merchant_ids=[merchant_id])
    everywhere = await published_benefit(client, name="¥5 anywhere")
    assert (await sale(client, owner, member, 60_000)).status_code == 201  # 600 points
    voucher = await client.post(f"/mp/v1/benefits/{own.json()['id']}/redeem", headers=member)
    assert voucher.status_code == 201, voucher.text

    async def catalogue() -> list[int]:
        response = await client.get("/mp/v1/benefits", headers=member)
        assert response.status_code == 200, response.text
        return sorted(b["id"] for b in response.json()["items"])

    assert await catalogue() == sorted([own.json()["id"], listed, everywhere])
    suspended = await client.post(
        f"/ops/v1/merchants/{merchant_id}/suspend", json={"reason": "inspection"}, headers=admin
    )
    assert suspended.status_code == 200, suspended.text

    assert await catalogue() == [everywhere]
    for benefit_id in (own.json()["id"], listed):
        assert (await client.get(f"/mp/v1/benefits/{benefit_id}", headers=member)).status_code == 404
        bought = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)
        assert bought.status_code == 404 and bought.json()["code"] == "benefit.not_found"
        granted = await client.post(
            f"/ops/v1/benefits/{benefit_id}/grants",
            json={"member_ids": [member_id], "reason": "care package"},
            headers=campaigns,
        )
        assert granted.status_code == 409 and granted.json()["code"] == "benefit.unavailable"
    assert (await client.get("/mp/v1/points", headers=member)).json()["balance"] == 500  # nothing spent
    at_till = await redeem(client, owner, await token_for(client, member, voucher.json()["id"]), 2_000)
    assert at_till.status_code == 409 and at_till.json()["code"] == "merchant.not_active"

    reactivated = await client.post(
        f"/ops/v1/merchants/{merchant_id}/reactivate", json={"reason": "passed"}, headers=admin
    )
    assert reactivated.status_code == 200, reactivated.text
    assert await catalogue() == sorted([own.json()["id"], listed, everywhere])
    again = await redeem(client, owner, await token_for(client, member, voucher.json()["id"]), 2_000)
    assert again.status_code == 201, again.text
    await assert_ledger_sound()


async def test_one_category_list_serves_discovery_and_benefit_eligibility(client: httpx.AsyncClient) -> None:
    # The schemas point at the merchants' enum: there is no second list to drift.
    categories = BenefitIn.model_json_schema()["$defs"]["Category"]["enum"]
    assert categories == [c.value for c in Category]
    assert ProgramOut.model_json_schema()["$defs"]["Category"]["enum"] == categories

    admin = await login_operator(client)
    owner, merchant_id, _ = await active_merchant(client, admin, "Gym", category="fitness")
    member, _ = await joined_member(client)
    benefit_id = await published_benefit(client, eligibility="category", categories=["fitness"])
    created = await client.get(f"/mp/v1/benefits/{benefit_id}", headers=member)
    assert created.json()["categories"] == ["fitness"]
    assert (await sale(client, owner, member, 30_000)).status_code == 201
    voucher = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)
    # The merchant changes its business category (a cosmetic field): eligibility follows at once.
    moved = await client.patch("/merchant/v1/application", json={"category": "beauty"}, headers=owner)
    assert moved.status_code == 200 and moved.json()["category"] == "beauty"
    refused = await redeem(client, owner, await token_for(client, member, voucher.json()["id"]), 2_000)
    assert refused.status_code == 403 and refused.json()["code"] == "voucher.not_valid_here"
    await client.patch("/merchant/v1/application", json={"category": "fitness"}, headers=owner)
    accepted = await redeem(client, owner, await token_for(client, member, voucher.json()["id"]), 2_000)
    assert accepted.status_code == 201, accepted.text
    assert (await client.get(f"/ops/v1/loyalty/merchants/{merchant_id}/terms", headers=admin)).json()[
        "category"
    ] == "fitness"


async def test_concurrent_scans_count_every_visit_once(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    owner, merchant_id, store_id = await active_merchant(client, admin)
    payload = await store_code(client, owner, store_id)
    regular, regular_id = await joined_member(client)
    others = [await joined_member(client) for _ in range(8)]
    await Member.filter(id=regular_id).update(last_active_at=utcnow() - timedelta(days=2))
    await Merchant.filter(id=merchant_id).update(last_activity_at=utcnow() - timedelta(days=2))

    results = await asyncio.gather(
        *[scan(client, payload, regular) for _ in range(12)],
        *[scan(client, payload, headers) for headers, _ in others],
        *[scan(client, payload, None) for _ in range(4)],
    )

    assert [r.status_code for r in results] == [200] * len(results)
    visits = {k.member_id: k.visits for k in await MerchantMember.filter(merchant_id=merchant_id)}
    assert visits == {regular_id: 12} | {member_id: 1 for _, member_id in others}
    assert await members_listed(client, owner) == visits
    assert (await Member.get(id=regular_id)).last_active_at >= business_day_bounds(business_day())[0]
    merchant_seen = (await Merchant.get(id=merchant_id)).last_activity_at
    assert merchant_seen is not None and merchant_seen > utcnow() - timedelta(minutes=1)
