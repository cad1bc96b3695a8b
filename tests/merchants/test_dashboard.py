"""The grid dashboard: merchants by status, stores, inactivity flags, and metrics other domains register."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.core.timeutil import utcnow
from merchants.grids import record_activity
from merchants.grids import service as grids
from merchants.models import Merchant
from tests.helpers import login_operator
from tests.merchants.support import active_merchant, create_branch, draft_merchant


async def test_dashboard_counts_flags_inactive_and_includes_registered_metrics(
    client: httpx.AsyncClient,
) -> None:
    manager = await login_operator(client, "grid_manager")
    admin = await login_operator(client)
    grid = await create_branch(client, manager)
    _, busy, _ = await active_merchant(client, admin, "Busy")
    _, idle, _ = await active_merchant(client, admin, "Idle")
    await draft_merchant(client, "Draft")
    await Merchant.filter(id=idle).update(last_activity_at=utcnow() - timedelta(days=45))
    await record_activity(busy)

    async def members_joined(merchant_ids: list[int]) -> dict[int, dict[str, int]]:
        return {m: {"test_members": 2 if m == busy else 0} for m in merchant_ids}

    grids.register_metric_provider(members_joined)
    try:
        dashboard = await client.get(
            f"/ops/v1/grids/{grid}/dashboard", params={"inactive_days": 30}, headers=manager
        )
        body = dashboard.json()
        assert dashboard.status_code == 200, dashboard.text
        assert body["merchants_by_status"]["active"] == 2 and body["merchants_by_status"]["draft"] == 1
        assert body["stores"] == 3 and body["inactive_merchants"] == 1
        assert body["metrics"]["test_members"] == 2
        assert body["last_activity_at"] is not None
        lines = await client.get(f"/ops/v1/grids/{grid}/merchants", headers=manager)
        flags = {m["name"]: (m["inactive"], m["metrics"]["test_members"]) for m in lines.json()["items"]}
        assert flags["Idle"] == (True, 0)
        assert flags["Busy"] == (False, 2)
        assert flags["Draft"][0] is False
        only_idle = await client.get(
            f"/ops/v1/grids/{grid}/merchants", params={"inactive_only": True}, headers=manager
        )
        assert [m["id"] for m in only_idle.json()["items"]] == [idle]
        longer = await client.get(
            f"/ops/v1/grids/{grid}/dashboard", params={"inactive_days": 60}, headers=manager
        )
        assert longer.json()["inactive_merchants"] == 0
    finally:
        grids._metric_providers.remove(members_joined)


async def test_branch_validation_and_update(client: httpx.AsyncClient) -> None:
    manager = await login_operator(client, "grid_manager")
    bad = [
        ({"name": "x", "lat": 91, "lng": 121.4}, "lat"),
        ({"name": "x", "lat": 31.2, "lng": 181}, "lng"),
        ({"name": "x", "lat": 31.2, "lng": 121.4, "radius_m": 0}, "radius_m"),
        ({"lat": 31.2, "lng": 121.4}, "name"),
    ]
    for body, field in bad:
        response = await client.post("/ops/v1/branches", json=body, headers=manager)
        assert response.status_code == 422 and field in {e["field"] for e in response.json()["errors"]}
    grid = await create_branch(client, manager)
    updated = await client.patch(
        f"/ops/v1/branches/{grid}", json={"radius_m": 2500, "name": "Renamed"}, headers=manager
    )
    assert updated.json()["radius_m"] == 2500 and updated.json()["name"] == "Renamed"
    assert (await client.get(f"/ops/v1/branches/{grid}", headers=manager)).json()["name"] == "Renamed"
    assert (await client.get("/ops/v1/branches/999999", headers=manager)).status_code == 404
