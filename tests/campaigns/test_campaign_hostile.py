"""Hostile campaign edits: nulls for fields that cannot be cleared and ids that do not exist are 422s
naming the field, and nothing changes."""

from __future__ import annotations

import httpx

from campaigns.models import Campaign
from tests.campaigns.support import create, flash_body, ops


async def test_null_for_a_field_that_cannot_be_cleared_is_422_and_nothing_changes(
    client: httpx.AsyncClient,
) -> None:
    team = await ops(client)
    campaign = await create(client, team.author, flash_body())
    url = f"/ops/v1/campaigns/{campaign['id']}"
    for field in ["funder", "name", "starts_at", "ends_at", "merchant_ids", "grid_ids", "audience", "config"]:
        response = await client.patch(url, json={field: None}, headers=team.author)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]
    row = await Campaign.get(id=campaign["id"])
    assert row.version == campaign["version"] and row.name == campaign["name"]
    cleared = await client.patch(url, json={"budget_fen": None, "banner_url": None}, headers=team.author)
    assert cleared.status_code == 200, cleared.text


async def test_grids_must_exist(client: httpx.AsyncClient) -> None:
    team = await ops(client)
    for grid_ids in ([2**63 - 1], [1], [2**63]):
        response = await client.post(
            "/ops/v1/campaigns", json=flash_body(grid_ids=grid_ids), headers=team.author
        )
        assert response.status_code == 422, response.text
        assert next(e["field"] for e in response.json()["errors"]).startswith("grid_ids")
    assert await Campaign.all().count() == 0
    campaign = await create(client, team.author, flash_body())
    response = await client.patch(
        f"/ops/v1/campaigns/{campaign['id']}", json={"grid_ids": [7]}, headers=team.author
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "grid_ids"
