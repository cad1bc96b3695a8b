"""Isolation on every route: staff see only their merchant, grid managers only their grids' merchants."""

from __future__ import annotations

import httpx

from app.core.models import AuditEntry
from merchants.models import Merchant, MerchantChange
from tests.helpers import login_operator
from tests.merchants.support import CENTRE, active_merchant, create_branch, draft_merchant, offset

FAR = offset(*CENTRE, north_m=10_000)


async def test_staff_of_one_merchant_never_reach_another_merchants_stores(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner_a, merchant_a, store_a = await active_merchant(client, admin, "A")
    owner_b, merchant_b, store_b = await active_merchant(client, admin, "B")
    routes = [
        ("GET", f"/merchant/v1/stores/{store_b}"),
        ("GET", f"/merchant/v1/stores/{store_b}/qr"),
        ("GET", f"/merchant/v1/stores/{store_b}/qr.png"),
        ("GET", f"/merchant/v1/stores/{store_b}/qr.svg"),
        ("POST", f"/merchant/v1/stores/{store_b}/qr/regenerate"),
    ]
    for method, url in routes:
        mine = await client.request(method, url.replace(str(store_b), str(store_a)), headers=owner_a)
        assert mine.status_code == 200, (url, mine.text)
        theirs = await client.request(method, url, headers=owner_a)
        assert theirs.status_code == 404 and theirs.json()["code"] == "store.not_found", url
    stores = (await client.get("/merchant/v1/stores", headers=owner_a)).json()
    assert [s["id"] for s in stores] == [store_a]
    application = (await client.get("/merchant/v1/application", headers=owner_a)).json()
    assert application["id"] == merchant_a
    # A's edits land on A's store and nowhere else: B's whole application is what it was.
    b_before = (await client.get("/merchant/v1/application", headers=owner_b)).json()
    patched = await client.patch("/merchant/v1/application", json={"hours": "A hours"}, headers=owner_a)
    assert patched.status_code == 200, patched.text
    a = (await client.get("/merchant/v1/application", headers=owner_a)).json()
    assert a["id"] == merchant_a and [s["hours"] for s in a["stores"]] == ["A hours"]
    b = (await client.get("/merchant/v1/application", headers=owner_b)).json()
    assert b == b_before and b["id"] == merchant_b
    assert b["stores"][0]["qr_version"] == 1  # A's regenerate of B's store did nothing


async def test_grid_manager_never_sees_or_acts_on_another_grids_merchants(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    manager_a = await login_operator(client, "grid_manager")
    manager_b = await login_operator(client, "grid_manager")
    grid_a = await create_branch(client, manager_a)
    grid_b = await create_branch(client, manager_b, *FAR)
    _, in_a, _ = await active_merchant(client, admin, "In A")
    owner_b, in_b, _ = await active_merchant(client, admin, "In B", lat=FAR[0], lng=FAR[1])
    changed = await client.patch("/merchant/v1/application", json={"legal_rep_name": "New"}, headers=owner_b)
    change_id = changed.json()["pending_change"]["id"]
    _, draft_b = await draft_merchant(client, "Draft B", lat=FAR[0], lng=FAR[1])
    reason = {"reason": "because"}
    routes = [
        ("GET", f"/ops/v1/merchants/{in_b}", None),
        ("GET", f"/ops/v1/merchants/{in_b}/licence", None),
        ("GET", f"/ops/v1/merchants/{in_b}/changes", None),
        ("POST", f"/ops/v1/merchants/{draft_b}/submit", None),
        ("POST", f"/ops/v1/merchants/{draft_b}/approve", None),
        ("POST", f"/ops/v1/merchants/{draft_b}/reject", reason),
        ("POST", f"/ops/v1/merchants/{in_b}/suspend", reason),
        ("POST", f"/ops/v1/merchants/{in_b}/reactivate", reason),
        ("POST", f"/ops/v1/merchants/{in_b}/changes/{change_id}/approve", None),
        ("POST", f"/ops/v1/merchants/{in_b}/changes/{change_id}/reject", reason),
    ]
    before = await AuditEntry.all().count()
    for method, url, body in routes:
        response = await client.request(method, url, json=body, headers=manager_a)
        assert response.status_code == 404 and response.json()["code"] == "merchant.not_found", url
    assert await AuditEntry.all().count() == before
    assert (await Merchant.get(id=in_b)).status == "active"
    assert (await Merchant.get(id=draft_b)).status == "draft"
    assert (await MerchantChange.get(id=change_id)).status == "pending"

    for url in (f"/ops/v1/grids/{grid_b}/dashboard", f"/ops/v1/grids/{grid_b}/merchants"):
        response = await client.get(url, headers=manager_a)
        assert response.status_code == 404 and response.json()["code"] == "grid.not_found", url
    patch = await client.patch(f"/ops/v1/branches/{grid_b}", json={"radius_m": 100}, headers=manager_a)
    assert patch.status_code == 404
    listed = await client.get("/ops/v1/merchants", headers=manager_a)
    assert [m["id"] for m in listed.json()["items"]] == [in_a]
    foreign_filter = await client.get("/ops/v1/merchants", params={"grid_id": grid_b}, headers=manager_a)
    assert foreign_filter.json()["items"] == []
    mine = await client.get("/ops/v1/branches", params={"mine": True}, headers=manager_a)
    assert [b["id"] for b in mine.json()["items"]] == [grid_a]
    # The manager of grid B does see and act on it; admins see everything.
    assert (await client.get(f"/ops/v1/merchants/{in_b}", headers=manager_b)).status_code == 200
    everything = await client.get("/ops/v1/merchants", headers=admin)
    assert {m["id"] for m in everything.json()["items"]} == {in_a, in_b, draft_b}


async def test_unassigned_merchants_are_for_admins_only(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    manager = await login_operator(client, "grid_manager")
    await create_branch(client, manager)
    _, outside = await draft_merchant(client, "Nowhere", lat=FAR[0], lng=FAR[1])
    assert (await client.get(f"/ops/v1/merchants/{outside}", headers=manager)).status_code == 404
    assert (await client.get("/ops/v1/merchants", params={"unassigned": True}, headers=manager)).json()[
        "items"
    ] == []
    response = await client.get("/ops/v1/merchants", params={"unassigned": True}, headers=admin)
    assert [m["id"] for m in response.json()["items"]] == [outside]
    assert response.json()["items"][0]["unassigned"] is True


async def test_admin_assigns_and_removes_grid_managers(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    grid = await create_branch(client, admin)
    _, merchant_id, _ = await active_merchant(client, admin)
    manager_headers = await login_operator(client, "grid_manager", username="gm-zhang")
    auditor_headers = await login_operator(client, "auditor", username="auditor-li")
    assert (await client.get(f"/ops/v1/merchants/{merchant_id}", headers=manager_headers)).status_code == 404
    operators = (await client.get("/ops/v1/operators", headers=admin)).json()["items"]
    ids = {o["username"]: o["id"] for o in operators}
    not_a_manager = await client.post(
        f"/ops/v1/grids/{grid}/managers", json={"operator_id": ids["auditor-li"]}, headers=admin
    )
    assert not_a_manager.status_code == 422 and not_a_manager.json()["errors"][0]["field"] == "operator_id"
    self_assign = await client.post(
        f"/ops/v1/grids/{grid}/managers", json={"operator_id": ids["gm-zhang"]}, headers=manager_headers
    )
    assert self_assign.status_code == 403
    assigned = await client.post(
        f"/ops/v1/grids/{grid}/managers", json={"operator_id": ids["gm-zhang"]}, headers=admin
    )
    assert assigned.status_code == 201
    assert (await client.get(f"/ops/v1/merchants/{merchant_id}", headers=manager_headers)).status_code == 200
    managers = await client.get(f"/ops/v1/grids/{grid}/managers", headers=manager_headers)
    assert [m["username"] for m in managers.json()] == ["gm-zhang"]
    removed = await client.delete(f"/ops/v1/grids/{grid}/managers/{ids['gm-zhang']}", headers=admin)
    assert removed.status_code == 204
    assert (await client.get(f"/ops/v1/merchants/{merchant_id}", headers=manager_headers)).status_code == 404
    assert (await client.get("/ops/v1/merchants", headers=auditor_headers)).status_code == 403
