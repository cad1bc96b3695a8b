"""Nearby stores from the Redis GEO index: order, filters, pages, staying in step, rebuilding; QR codes."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx

from app.core.redis_client import get_redis
from merchants.discovery import index as discovery
from merchants.discovery import tasks
from tests.helpers import login_member, login_operator, run_jobs
from tests.merchants.support import CENTRE, active_merchant, create_branch, draft_merchant, nearby_ids, offset


async def _spread(client: httpx.AsyncClient, ops: dict[str, str]) -> dict[str, int]:
    """Stores 300 m, 1 km (retail) and 2.5 km north of the centre, plus a draft one 100 m away."""
    ids = {}
    for label, metres, category in (
        ("300m", 300, "catering"),
        ("1km", 1000, "retail"),
        ("2500m", 2500, "catering"),
    ):
        lat, lng = offset(*CENTRE, north_m=metres)
        _, _, ids[label] = await active_merchant(client, ops, label, lat=lat, lng=lng, category=category)
    lat, lng = offset(*CENTRE, north_m=100)
    await draft_merchant(client, "draft", lat=lat, lng=lng)
    return ids


async def test_nearby_is_nearest_first_within_radius_by_category_and_paginated(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    ids = await _spread(client, admin)
    assert await nearby_ids(client, *CENTRE) == [ids["300m"], ids["1km"], ids["2500m"]]
    assert await nearby_ids(client, *CENTRE, radius_m=1500) == [ids["300m"], ids["1km"]]
    assert await nearby_ids(client, *CENTRE, category="retail") == [ids["1km"]]
    assert await nearby_ids(client, *CENTRE, category="beauty") == []
    first = await client.get("/mp/v1/stores/nearby", params={"lat": CENTRE[0], "lng": CENTRE[1], "limit": 2})
    page = first.json()
    assert [s["id"] for s in page["items"]] == [ids["300m"], ids["1km"]]
    assert page["items"][0]["distance_m"] < page["items"][1]["distance_m"]
    second = await client.get(
        "/mp/v1/stores/nearby",
        params={"lat": CENTRE[0], "lng": CENTRE[1], "limit": 2, "cursor": page["next_cursor"]},
    )
    assert [s["id"] for s in second.json()["items"]] == [ids["2500m"]]
    assert second.json()["next_cursor"] is None
    assert "settlement" not in first.text and "legal_rep" not in first.text


async def test_nearby_rejects_bad_input_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = [
        ({"lat": 91, "lng": 121.4}, "lat"),
        ({"lat": 31.2, "lng": -181}, "lng"),
        ({"lat": 31.2}, "lng"),
        ({"lat": 31.2, "lng": 121.4, "radius_m": 0}, "radius_m"),
        ({"lat": 31.2, "lng": 121.4, "radius_m": 50_001}, "radius_m"),
        ({"lat": 31.2, "lng": 121.4, "category": "casino"}, "category"),
        ({"lat": 31.2, "lng": 121.4, "cursor": "garbage!"}, "cursor"),
        ({"lat": 31.2, "lng": 121.4, "limit": 101}, "limit"),
    ]
    for params, field in cases:
        response = await client.get("/mp/v1/stores/nearby", params=params)
        assert response.status_code == 422, (params, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}, params


async def test_index_follows_every_transition_and_edit(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, merchant_id, store_id = await active_merchant(client, admin)
    await client.post(f"/ops/v1/merchants/{merchant_id}/suspend", json={"reason": "audit"}, headers=admin)
    assert await nearby_ids(client, *CENTRE) == []
    await client.post(
        f"/ops/v1/merchants/{merchant_id}/reactivate", json={"reason": "cleared"}, headers=admin
    )
    assert await nearby_ids(client, *CENTRE) == [store_id]
    # Cosmetic edits show at once; a move waits for review.
    await client.patch("/merchant/v1/application", json={"hours": "24h", "category": "retail"}, headers=owner)
    found = await client.get("/mp/v1/stores/nearby", params={"lat": CENTRE[0], "lng": CENTRE[1]})
    assert found.json()["items"][0]["hours"] == "24h"
    assert await nearby_ids(client, *CENTRE, category="catering") == []
    assert await nearby_ids(client, *CENTRE, category="retail") == [store_id]
    far = offset(*CENTRE, north_m=10_000)
    moved = await client.patch(
        "/merchant/v1/application",
        json={"lat": far[0], "lng": far[1], "store_address": "New Road"},
        headers=owner,
    )
    assert await nearby_ids(client, *CENTRE) == [store_id]
    change_id = moved.json()["pending_change"]["id"]
    await client.post(f"/ops/v1/merchants/{merchant_id}/changes/{change_id}/approve", headers=admin)
    assert await nearby_ids(client, *CENTRE) == []
    assert await nearby_ids(client, *far) == [store_id]


async def test_lost_index_is_served_from_the_database_and_rebuilt_by_a_job(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    ids = await _spread(client, admin)
    expected = [ids["300m"], ids["1km"], ids["2500m"]]
    await get_redis().flushdb()
    assert not await discovery.index_present()
    assert await nearby_ids(client, *CENTRE) == expected  # database fallback, same answer
    assert await nearby_ids(client, *CENTRE, category="retail") == [ids["1km"]]
    await run_jobs()  # the rebuild the request asked for
    assert await discovery.index_present()
    assert await get_redis().zcard(discovery.GEO_ALL) == 3
    assert await nearby_ids(client, *CENTRE) == expected


async def test_cron_and_cli_rebuild_after_flushdb(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    ids = await _spread(client, admin)
    await get_redis().flushdb()
    await tasks._ensure_geo_index({})
    assert await get_redis().zcard(discovery.GEO_ALL) == 3
    await get_redis().flushdb()
    process = await asyncio.create_subprocess_exec(
        os.path.join(os.path.dirname(sys.executable), "linli"),
        "stores",
        "rebuild-geo",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ.copy(),
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert b"3 active stores" in out
    assert await discovery.index_present()
    assert await nearby_ids(client, *CENTRE, category="catering") == [ids["300m"], ids["2500m"]]


async def test_qr_regenerate_revokes_and_forgeries_are_rejected(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, _, store_id = await active_merchant(client, admin)
    member = await login_member(client)
    old = (await client.get(f"/merchant/v1/stores/{store_id}/qr", headers=owner)).json()["payload"]
    new = (await client.post(f"/merchant/v1/stores/{store_id}/qr/regenerate", headers=owner)).json()
    assert new["version"] == 2 and new["payload"] != old
    revoked = await client.post("/mp/v1/stores/scan", json={"payload": old}, headers=member)
    assert revoked.status_code == 410 and revoked.json()["code"] == "store.qr_revoked"
    ok = await client.post("/mp/v1/stores/scan", json={"payload": new["payload"]}, headers=member)
    assert ok.status_code == 200 and ok.json()["id"] == store_id
    prefix, sid, version, signature = new["payload"].split(".")
    forged = [
        f"{prefix}.{sid}.{version}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{prefix}.{int(sid) + 1}.{version}.{signature}",
        f"{prefix}.{sid}.{int(version) + 1}.{signature}",
        "https://evil.example.com/pay",
        f"{prefix}.{sid}.{version}",
    ]
    for payload in forged:
        response = await client.post("/mp/v1/stores/scan", json={"payload": payload}, headers=member)
        assert response.status_code == 400 and response.json()["code"] == "store.qr_invalid", payload
    # Anonymous scans resolve the store (nobody becomes known); a bad token is still refused.
    assert (await client.post("/mp/v1/stores/scan", json={"payload": new["payload"]})).status_code == 200
    bad_token = {"Authorization": "Bearer nope"}
    refused = await client.post("/mp/v1/stores/scan", json={"payload": new["payload"]}, headers=bad_token)
    assert refused.status_code == 401


async def test_qr_regenerations_race_to_distinct_versions(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, _, store_id = await active_merchant(client, admin)
    responses = await asyncio.gather(
        *(client.post(f"/merchant/v1/stores/{store_id}/qr/regenerate", headers=owner) for _ in range(5))
    )
    assert sorted(r.json()["version"] for r in responses) == [2, 3, 4, 5, 6]


async def test_each_store_sits_once_in_the_index_through_concurrent_edits_and_syncs(
    client: httpx.AsyncClient,
) -> None:
    """The GEO keys hold summaries as members: an edit replaces the old one, even when syncs race."""
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, merchant_id, store_id = await active_merchant(client, admin)
    for round_ in range(3):
        edits = [
            client.patch(
                "/merchant/v1/application",
                json={"hours": f"{round_}-{i}", "category": ("retail", "beauty")[i % 2]},
                headers=owner,
            )
            for i in range(4)
        ]
        await asyncio.gather(*edits, *(discovery.sync_merchant(merchant_id) for _ in range(4)))
    await discovery.sync_merchant(merchant_id)
    redis = get_redis()
    members = await redis.zrange(discovery.GEO_ALL, 0, -1)
    assert members == [await redis.hget(discovery.SUMMARIES, str(store_id))]
    found = (await client.get("/mp/v1/stores/nearby", params={"lat": CENTRE[0], "lng": CENTRE[1]})).json()
    category = found["items"][0]["category"]
    assert [len(await redis.zrange(k, 0, -1)) for k in discovery.CATEGORY_KEYS] == [
        1 if k == discovery.category_key(category) else 0 for k in discovery.CATEGORY_KEYS
    ]
    await client.post(f"/ops/v1/merchants/{merchant_id}/suspend", json={"reason": "audit"}, headers=admin)
    assert [await redis.zcard(k) for k in (discovery.GEO_ALL, *discovery.CATEGORY_KEYS)] == [0] * (
        1 + len(discovery.CATEGORY_KEYS)
    )
    assert await redis.hlen(discovery.SUMMARIES) == 0
