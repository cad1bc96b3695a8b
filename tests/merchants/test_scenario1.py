"""Scenario 1 of the domain brief, end to end through the API."""

from __future__ import annotations

import httpx

from app.core.models import AuditEntry
from tests.helpers import login_member, login_operator, run_jobs, signup_merchant
from tests.merchants.support import CENTRE, LICENCE_PNG, application, nearby_ids, offset


async def test_branch_application_review_approval_qr_nearby_suspension(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    # An account manager registers a branch and its grid (and so manages it).
    manager = await login_operator(client, "grid_manager")
    branch = await client.post(
        "/ops/v1/branches",
        json={"name": "Harbour Road", "address": "1 Harbour Road", "lat": CENTRE[0], "lng": CENTRE[1]},
        headers=manager,
    )
    assert branch.status_code == 201, branch.text
    grid_id = branch.json()["id"]
    assert branch.json()["radius_m"] == 3000

    # A merchant 800 m away applies through the console.
    owner, _ = await signup_merchant(client, "Corner Coffee")
    store_lat, store_lng = offset(*CENTRE, north_m=800)
    edited = await client.patch(
        "/merchant/v1/application", json=application(store_lat, store_lng), headers=owner
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["grid_id"] == grid_id and edited.json()["status"] == "draft"
    incomplete = await client.post("/merchant/v1/application/submit", headers=owner)
    assert incomplete.status_code == 422 and incomplete.json()["errors"][0]["field"] == "licence_key"
    uploaded = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.png", LICENCE_PNG, "image/png")},
        headers=owner,
    )
    assert uploaded.json()["has_licence"] is True
    submitted = await client.post("/merchant/v1/application/submit", headers=owner)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    merchant_id = submitted.json()["id"]
    store_id = submitted.json()["stores"][0]["id"]

    # Not yet visible, and no QR code before approval.
    assert await nearby_ids(client, *CENTRE) == []
    assert (await client.get(f"/merchant/v1/stores/{store_id}/qr", headers=owner)).json()["code"] == (
        "store.qr_not_issued"
    )

    # Ops reviews: the queue of the grid shows it; the manager approves.
    queue = await client.get("/ops/v1/merchants", params={"status": "submitted"}, headers=manager)
    assert [m["id"] for m in queue.json()["items"]] == [merchant_id]
    licence = await client.get(f"/ops/v1/merchants/{merchant_id}/licence", headers=manager)
    assert licence.status_code == 200 and licence.content == LICENCE_PNG
    approved = await client.post(f"/ops/v1/merchants/{merchant_id}/approve", headers=manager)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["stores"][0]["qr_issued"] is True

    # The store QR code is issued: PNG, SVG and its payload resolve to the store.
    code = (await client.get(f"/merchant/v1/stores/{store_id}/qr", headers=owner)).json()
    png = await client.get(f"/merchant/v1/stores/{store_id}/qr.png", headers=owner)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = await client.get(f"/merchant/v1/stores/{store_id}/qr.svg", headers=owner)
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    # Scanned before logging in, the code still resolves to the store.
    anonymous = await client.post("/mp/v1/stores/scan", json={"payload": code["payload"]})
    assert anonymous.status_code == 200 and anonymous.json()["id"] == store_id
    # A member who joined (sharing their profile) scans it: they become known to the merchant.
    member = await login_member(client)
    joined = await client.post("/mp/v1/me/join", json={"share_profile": True}, headers=member)
    assert joined.status_code == 200, joined.text
    scanned = await client.post("/mp/v1/stores/scan", json={"payload": code["payload"]}, headers=member)
    assert scanned.status_code == 200 and scanned.json()["id"] == store_id
    known = (await client.get("/merchant/v1/members", headers=owner)).json()["items"]
    assert [(m["member_id"], m["visits"]) for m in known] == [(joined.json()["id"], 1)]
    dashboard = (await client.get(f"/ops/v1/grids/{grid_id}/dashboard", headers=manager)).json()
    assert dashboard["merchants_by_status"]["active"] == 1 and dashboard["inactive_merchants"] == 0
    assert dashboard["metrics"]["members_joined"] == 1

    # Customers within the grid find it nearby, with its distance; customers far outside it do not.
    found = await client.get("/mp/v1/stores/nearby", params={"lat": CENTRE[0], "lng": CENTRE[1]})
    assert [s["id"] for s in found.json()["items"]] == [store_id]
    assert 790 <= found.json()["items"][0]["distance_m"] <= 810
    assert await nearby_ids(client, *offset(*CENTRE, north_m=12_000)) == []
    detail = await client.get(f"/mp/v1/stores/{store_id}", params={"lat": CENTRE[0], "lng": CENTRE[1]})
    assert detail.json()["name"] == "Corner Coffee" and "settlement_account" not in detail.text

    # Suspended: gone at once, before any job runs; reactivated: back.
    suspended = await client.post(
        f"/ops/v1/merchants/{merchant_id}/suspend", json={"reason": "hygiene inspection"}, headers=admin
    )
    assert suspended.json()["status"] == "suspended"
    assert await nearby_ids(client, *CENTRE) == []
    assert (await client.get(f"/mp/v1/stores/{store_id}")).status_code == 404
    gone = await client.post("/mp/v1/stores/scan", json={"payload": code["payload"]}, headers=member)
    assert gone.status_code == 404 and gone.json()["code"] == "store.not_found"
    await run_jobs()  # the backstop jobs agree with the state
    assert await nearby_ids(client, *CENTRE) == []

    actions = [
        e.action
        for e in await AuditEntry.filter(target_type="merchant", target_id=str(merchant_id)).order_by("id")
    ]
    assert actions[-4:] == ["merchant.submit", "merchant.approve", "merchant.activate", "merchant.suspend"]
