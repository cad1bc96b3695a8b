"""Members' home grids: set at join from a location, changed by the member at most once per N days,
imported by ops with the tags CSV, shown to ops; a flash campaign's grids admit only members living in
them, in the grab script and in every list, and follow a member who moves mid-campaign."""

from __future__ import annotations

import httpx
import pytest

from app.core.config import get_settings
from app.core.redis_client import get_redis
from campaigns.flash.keys import k
from loyalty.models import Member, PointsAccount
from merchants.models import Branch
from tests.campaigns import support as ch
from tests.helpers import login_member, login_operator, run_jobs

A = (31.2304, 121.4737)
B = (31.2304, 121.6)  # about 12 km east of A: outside A's 3 km grid


async def grids() -> tuple[int, int, int]:
    """Grids A, B and C (C far away)."""
    a = await Branch.create(name="Branch A", lat=A[0], lng=A[1])
    b = await Branch.create(name="Branch B", lat=B[0], lng=B[1])
    c = await Branch.create(name="Branch C", lat=30.0, lng=120.0)
    return int(a.id), int(b.id), int(c.id)


async def test_home_grid_at_join_change_once_and_ops_view(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = await grids()
    member = await login_member(client)
    joined = await client.post(
        "/mp/v1/me/join", json={"share_profile": True, "lat": A[0], "lng": A[1] + 0.001}, headers=member
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["home_grid_id"] == a and joined.json()["home_grid_changed_at"] is None
    member_id = joined.json()["id"]
    again = await client.post(
        "/mp/v1/me/join", json={"share_profile": True, "lat": B[0], "lng": B[1]}, headers=member
    )
    assert again.json()["home_grid_id"] == a  # joining again never moves the member

    moved = await client.put("/mp/v1/me/home-grid", json={"grid_id": b}, headers=member)
    assert moved.status_code == 200, moved.text
    assert moved.json()["home_grid_id"] == b and moved.json()["home_grid_changed_at"]
    same = await client.put("/mp/v1/me/home-grid", json={"grid_id": b}, headers=member)
    assert same.status_code == 200  # choosing the grid one has is no change
    locked = await client.put("/mp/v1/me/home-grid", json={"grid_id": c}, headers=member)
    assert locked.status_code == 409 and locked.json()["code"] == "member.home_grid_locked", locked.text
    for bad in (999_999, 2**63):
        unknown = await client.put("/mp/v1/me/home-grid", json={"grid_id": bad}, headers=member)
        assert unknown.status_code in (404, 422), unknown.text
        assert unknown.json()["code"] in ("grid.not_found", "validation_error")

    monkeypatch.setattr(get_settings(), "home_grid_change_days", 0)
    assert (await client.put("/mp/v1/me/home-grid", json={"grid_id": c}, headers=member)).status_code == 200

    ops = await login_operator(client, "campaign_manager")
    seen = await client.get(f"/ops/v1/members/{member_id}", headers=ops)
    assert seen.status_code == 200 and seen.json()["home_grid_id"] == c, seen.text

    outside = await login_member(client)
    nowhere = await client.post(
        "/mp/v1/me/join", json={"share_profile": True, "lat": 40.0, "lng": 116.0}, headers=outside
    )
    assert nowhere.json()["home_grid_id"] is None  # outside every grid: in no grid


async def test_ops_import_home_grids_with_the_tags_csv(client: httpx.AsyncClient) -> None:
    a, b, _ = await grids()
    [(m1, _), (m2, _), (m3, _)] = await ch.segment_members(3)
    ops = await login_operator(client, "campaign_manager")
    csv = f"member_id,grid_id\n{m1},{a}\n{m2},{b}\n{m3},999999\n{m3},x\n".encode()
    imported = await client.post(
        "/ops/v1/members/tags/import",
        data={"tag": "payroll"},
        files={"file": ("customers.csv", csv, "text/csv")},
        headers=ops,
    )
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert report["home_grids_set"] == 2 and report["tagged"] == 3, report
    assert any("999999" in e for e in report["errors"]) and any("grid_id" in e for e in report["errors"])
    homes = dict(await Member.filter(id__in=[m1, m2, m3]).values_list("id", "home_grid_id"))
    assert homes == {m1: a, m2: b, m3: None}


async def test_campaign_grids_must_exist(client: httpx.AsyncClient, team: ch.Ops) -> None:
    a, _, _ = await grids()
    for bad in ([2**63], [999_999], [a, 0]):
        body = await ch.with_benefit(ch.flash_body(grid_ids=bad))
        response = await client.post("/ops/v1/campaigns", json=body, headers=team.author)
        assert response.status_code == 422, (bad, response.text)
    await ch.create(client, team.author, ch.flash_body(grid_ids=[a]))


async def test_flash_grids_admit_only_their_members_and_follow_a_move(
    client: httpx.AsyncClient, team: ch.Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)
    a, b, c = await grids()
    [(in_a, member_a)] = await ch.segment_members(1, grid=a)
    [(in_b, member_b)] = await ch.segment_members(1, grid=b)
    [(in_c, member_c)] = await ch.segment_members(1, grid=c)
    [(_, homeless)] = await ch.segment_members(1)
    await PointsAccount.bulk_create([PointsAccount(member_id=m, balance=0) for m in (in_a, in_c)])  # the home
    cid = await ch.live_flash(client, team, stock=10, grid_ids=[a, b])
    everywhere = await ch.live_flash(client, team, stock=10)

    assert (await ch.grab(client, cid, member_a)).json()["outcome"] == "won"
    assert (await ch.grab(client, cid, member_b)).json()["outcome"] == "won"
    assert (await ch.grab(client, cid, member_c)).json()["outcome"] == "not_eligible"
    assert (await ch.grab(client, cid, homeless)).json()["outcome"] == "not_eligible"
    assert (await ch.grab(client, everywhere, homeless)).json()["outcome"] == "won"

    # The lists apply the same rule: C's member does not see the campaign, nor can open it.
    listed_c = await client.get("/mp/v1/campaigns", headers=member_c)
    assert cid not in [x["id"] for x in listed_c.json()["items"]]
    assert everywhere in [x["id"] for x in listed_c.json()["items"]]
    assert (await client.get(f"/mp/v1/campaigns/{cid}", headers=member_c)).status_code == 404
    listed_a = await client.get("/mp/v1/campaigns", headers=member_a)
    assert cid in [x["id"] for x in listed_a.json()["items"]]
    home_c = await client.get("/mp/v1/home", params={"lat": A[0], "lng": A[1]}, headers=member_c)
    assert home_c.status_code == 200, home_c.text
    assert cid not in [x["id"] for x in home_c.json()["campaigns"]["live"]]
    home_a = await client.get("/mp/v1/home", params={"lat": 30.0, "lng": 120.0}, headers=member_a)
    assert cid in [x["id"] for x in home_a.json()["campaigns"]["live"]]  # admitted by home, not by place

    # C's member moves to B mid-campaign: the loaded campaign follows within a job run.
    moved = await client.put("/mp/v1/me/home-grid", json={"grid_id": b}, headers=member_c)
    assert moved.status_code == 200, moved.text
    await run_jobs()
    assert await get_redis().sismember(k(cid, "eligible"), str(in_c))  # type: ignore[misc]
    assert (await ch.grab(client, cid, member_c)).json()["outcome"] == "won"
    assert not await get_redis().sismember(k(cid, "eligible"), str(in_a + 10**9))  # type: ignore[misc]
    assert in_b
