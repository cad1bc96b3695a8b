"""The mini-program home: points, campaigns for the member's grid and audience, stores nearby."""

from __future__ import annotations

from datetime import timedelta

import httpx

from loyalty.models import Member, PointsAccount
from tests.campaigns import support as ch
from tests.helpers import login_operator
from tests.loyalty.support import joined_member, sale
from tests.merchants.support import CENTRE, active_merchant, create_branch, offset

FAR = offset(*CENTRE, north_m=30_000)  # another city district: its own grid


async def _campaign(client: httpx.AsyncClient, team: ch.Ops, name: str, **extra: object) -> int:
    return int((await ch.approved(client, team, ch.flash_body(name=name, **extra)))["id"])


async def test_home_shows_points_campaigns_for_my_grid_and_audience_and_stores_nearby(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_operator(client)
    here = await create_branch(client, admin)
    there = await create_branch(client, admin, *FAR)
    owner, _, store_id = await active_merchant(client, admin, lat=CENTRE[0], lng=CENTRE[1])
    member, _ = await joined_member(client)
    # A flash campaign's grids admit members by their home grid.
    assert (
        await client.put("/mp/v1/me/home-grid", json={"grid_id": here}, headers=member)
    ).status_code == 200
    assert (await sale(client, owner, member, 12_800)).status_code == 201
    team = await ch.ops(client)
    mine = await _campaign(client, team, "here", grid_ids=[here])
    elsewhere = await _campaign(client, team, "there", grid_ids=[there])
    soon = await _campaign(client, team, "soon", starts_in=timedelta(days=1))
    await _campaign(client, team, "listed only", audience={"member_list": True})

    response = await client.get("/mp/v1/home", params={"lat": CENTRE[0], "lng": CENTRE[1]}, headers=member)

    assert response.status_code == 200, response.text
    home = response.json()
    points = (await client.get("/mp/v1/points", headers=member)).json()
    assert home["points"] == points and points["balance"] > 0
    assert home["member"]["joined"] is True
    assert home["grid_id"] == here
    assert [c["id"] for c in home["campaigns"]["live"]] == [mine]
    assert [c["id"] for c in home["campaigns"]["upcoming"]] == [soon]
    assert elsewhere not in [c["id"] for c in home["campaigns"]["live"]]
    assert [s["id"] for s in home["nearby"]] == [store_id]
    assert home["nearby"][0]["distance_m"] == 0


async def test_home_without_a_location_shows_campaigns_that_run_everywhere_and_no_stores(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_operator(client)
    here = await create_branch(client, admin)
    await active_merchant(client, admin)
    member, _ = await joined_member(client)
    team = await ch.ops(client)
    await _campaign(client, team, "here", grid_ids=[here])
    everywhere = await _campaign(client, team, "everywhere")

    home = (await client.get("/mp/v1/home", headers=member)).json()

    assert home["grid_id"] is None
    assert [c["id"] for c in home["campaigns"]["live"]] == [everywhere]
    assert home["nearby"] == []
    assert home["points"]["balance"] == 0


async def test_home_rejects_half_a_location_and_anonymous_callers(client: httpx.AsyncClient) -> None:
    member, _ = await joined_member(client)

    half = await client.get("/mp/v1/home", params={"lat": CENTRE[0]}, headers=member)
    out_of_range = await client.get("/mp/v1/home", params={"lat": 95, "lng": CENTRE[1]}, headers=member)
    anonymous = await client.get("/mp/v1/home")

    assert half.status_code == 422 and half.json()["errors"][0]["field"] == "lng"
    assert out_of_range.status_code == 422 and "lat" in out_of_range.text
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_home_shows_tier_and_tag_campaigns_only_to_their_audience(client: httpx.AsyncClient) -> None:
    team = await ch.ops(client)
    [(_, gold_payroll)] = await ch.segment_members(1, tier="gold", tags=("payroll",))
    [(_, gold_only)] = await ch.segment_members(1, tier="gold")
    # Members made in bulk skip the login that opens their points account.
    await PointsAccount.bulk_create([PointsAccount(member_id=m.id) for m in await Member.all()])
    for_gold = await _campaign(client, team, "gold", audience={"tiers": ["gold"]})
    for_payroll = await _campaign(client, team, "payroll", audience={"tags": ["payroll"]})

    def live(response: httpx.Response) -> set[int]:
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["campaigns"]["live"]}

    assert live(await client.get("/mp/v1/home", headers=gold_payroll)) == {for_gold, for_payroll}
    assert live(await client.get("/mp/v1/home", headers=gold_only)) == {for_gold}
