"""Hostile input answers 4xx problems naming the field, never a 500 (the input policy, app.core.inputs)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
from fastapi import FastAPI
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from app.core.inputs import MAX_INT64
from tests.helpers import login_member, login_operator, signup_merchant

TOO_BIG = 2**63  # one past the largest BIGINT
HUGE = 10**30


def _integer_schemas(schema: Any, defs: dict[str, Any], seen: frozenset[str] = frozenset()) -> list[Any]:
    """Every integer sub-schema of a JSON schema (references followed once)."""
    if isinstance(schema, list):
        return [s for item in schema for s in _integer_schemas(item, defs, seen)]
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _integer_schemas(defs[name], defs, seen | {name})
    found = [schema] if schema.get("type") == "integer" else []
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            found += [s for sub in value.values() for s in _integer_schemas(sub, defs, seen)]
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems", "not"):
            found += _integer_schemas(value, defs, seen)
    return found


def _bounded(schema: dict[str, Any]) -> bool:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    return low is not None and high is not None and low >= -MAX_INT64 and high <= MAX_INT64


def _parameters(dependant: Dependant) -> list[ModelField]:
    """The path and query parameters of a route and of all its dependencies."""
    found = [*dependant.path_params, *dependant.query_params]
    for sub in dependant.dependencies:
        found += _parameters(sub)
    return found


def test_every_integer_path_and_query_parameter_is_bounded(app: FastAPI) -> None:
    unbounded = []
    routes = [c.original_route for c in iter_route_contexts(app.routes)]  # included routers' routes too
    assert len([r for r in routes if isinstance(r, APIRoute)]) > 150  # the walk sees the whole API
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        for field in _parameters(route.dependant):
            info = field.field_info
            annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
            schema = TypeAdapter(annotation).json_schema()
            for integer in _integer_schemas(schema, schema.get("$defs", {})):
                if not _bounded(integer):
                    unbounded.append(f"{sorted(route.methods)} {route.path} {field.name}")
    assert not unbounded, f"integer parameters without bounds (use app.core.inputs.Id): {unbounded}"


def test_every_integer_in_a_request_body_is_bounded(app: FastAPI) -> None:
    document = app.openapi()
    defs = document["components"]["schemas"]
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for integer in _integer_schemas(media["schema"], defs):
                    if not _bounded(integer):
                        unbounded.append(f"{method.upper()} {path}: {integer}")
    assert not unbounded, f"integers without bounds in request bodies: {unbounded}"


def _names(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_ids_beyond_64_bits_in_paths_are_422_naming_the_id(client: httpx.AsyncClient) -> None:
    member = await login_member(client)
    owner, _ = await signup_merchant(client)
    admin = await login_operator(client)
    cases = [
        ("GET", f"/mp/v1/vouchers/{TOO_BIG}", member, "voucher_id"),
        ("POST", f"/mp/v1/vouchers/{HUGE}/token", member, "voucher_id"),
        ("GET", f"/mp/v1/stores/{TOO_BIG}", member, "store_id"),
        ("GET", f"/merchant/v1/stores/{TOO_BIG}/qr.png", owner, "store_id"),
        ("POST", f"/merchant/v1/stores/{TOO_BIG}/qr/regenerate", owner, "store_id"),
        ("GET", f"/ops/v1/members/{TOO_BIG}", admin, "member_id"),
        ("GET", f"/ops/v1/grids/{TOO_BIG}/managers", admin, "grid_id"),
        ("DELETE", f"/ops/v1/grids/1/managers/{TOO_BIG}", admin, "operator_id"),
        ("POST", f"/mp/v1/campaigns/{TOO_BIG}/grab", member, "campaign_id"),
        ("GET", "/mp/v1/vouchers/0", member, "voucher_id"),
    ]
    for method, url, headers, field in cases:
        _names(await client.request(method, url, headers=headers), field)


async def test_ids_beyond_64_bits_in_query_filters_are_422(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    member = await login_member(client)
    for url, headers, field in [
        (f"/ops/v1/audit?actor_id={TOO_BIG}", admin, "actor_id"),
        (f"/ops/v1/billpay/orders?member_id={TOO_BIG}", admin, "member_id"),
        (f"/ops/v1/campaigns?merchant_id={TOO_BIG}", admin, "merchant_id"),
        (f"/ops/v1/settlement/statements?merchant_id={TOO_BIG}", admin, "merchant_id"),
        (f"/mp/v1/campaigns?merchant_id={-TOO_BIG}", member, "merchant_id"),
    ]:
        _names(await client.get(url, headers=headers), field)


async def test_ids_beyond_64_bits_in_bodies_are_422_and_nothing_is_written(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    member = await login_member(client)
    benefit = {
        "name": "5 off",
        "kind": "cash",
        "face_value_fen": 500,
        "eligibility": "list",
        "merchant_ids": [1, TOO_BIG],
        "funder": "merchant",
        "funder_merchant_id": TOO_BIG,
        "valid_days": 30,
        "stock_total": 10,
    }
    response = await client.post("/ops/v1/benefits", json=benefit, headers=admin)
    assert response.status_code == 422, response.text
    assert {"funder_merchant_id", "merchant_ids.1"} <= {e["field"] for e in response.json()["errors"]}
    cases = [
        ("POST", "/ops/v1/benefits/1/grants", {"member_ids": [TOO_BIG], "reason": "gift"}, "member_ids.0"),
        ("POST", "/ops/v1/campaigns/1/audience-members", {"member_ids": [HUGE]}, "member_ids.0"),
        ("POST", "/ops/v1/campaign-blocklist", {"member_id": TOO_BIG, "reason": "x"}, "member_id"),
        ("PUT", "/ops/v1/merchants/1/grid", {"grid_id": TOO_BIG}, "grid_id"),
        ("POST", "/ops/v1/grids/1/managers", {"operator_id": TOO_BIG}, "operator_id"),
        ("POST", "/ops/v1/members/1/points", {"points": TOO_BIG, "reason": "goodwill"}, "points"),
    ]
    for method, url, body, field in cases:
        _names(await client.request(method, url, json=body, headers=admin), field)
    for body, field in [
        ({"biller_id": TOO_BIG, "account_no": "3100123456"}, "biller_id"),
        ({"household_account_id": TOO_BIG, "amount": 100}, "household_account_id"),
    ]:
        path = "/mp/v1/bills/accounts" if "account_no" in body else "/mp/v1/bills/orders"
        _names(await client.post(path, json=body, headers=member), field)
    listed = await client.get("/ops/v1/benefits", headers=admin)
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_member_ids_beyond_64_bits_in_the_tag_import_are_reported_per_line(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_operator(client)
    csv = f"member_id\n{TOO_BIG}\n{HUGE}\n²\n0\n{'9' * 5000}\n".encode()
    response = await client.post(
        "/ops/v1/members/tags/import",
        data={"tag": "vip"},
        files={"file": ("tags.csv", csv, "text/csv")},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["tagged"] == 0 and report["unknown"] == 5
    assert report["errors"] == [
        "line 2: member_id is out of range (1 to 2**63-1)",
        "line 3: member_id is out of range (1 to 2**63-1)",
        "line 4: member_id is not a number",
        "line 5: member_id is out of range (1 to 2**63-1)",
        "line 6: member_id is out of range (1 to 2**63-1)",
    ]


NUL = "a\u0000b"
JSON = {"content-type": "application/json"}


async def test_nul_in_any_stored_string_is_422_naming_the_field_and_nothing_is_written(
    client: httpx.AsyncClient,
) -> None:
    signup = {"business_name": NUL, "phone": "13900000001", "password": "correct-horse-battery"}
    response = await client.post("/merchant/v1/auth/signup", json=signup | {"owner_name": "Owner"})
    _names(response, "business_name")
    login = await client.post(
        "/merchant/v1/auth/login", json={"phone": "13900000001", "password": "correct-horse-battery"}
    )
    assert login.status_code == 401, login.text  # no account was opened
    member = await login_member(client)
    owner, _ = await signup_merchant(client)
    admin = await login_operator(client)
    cases = [
        ("PATCH", "/mp/v1/me", member, {"nickname": NUL}, "nickname"),
        ("PATCH", "/merchant/v1/application", owner, {"description": NUL}, "description"),
        ("POST", "/ops/v1/branches", admin, {"name": NUL, "lat": 31.23, "lng": 121.47}, "name"),
        ("POST", "/ops/v1/merchants/1/reject", admin, {"reason": NUL}, "reason"),
        ("POST", "/ops/v1/campaign-blocklist", admin, {"member_id": 1, "reason": NUL}, "reason"),
        # nested, and a lone surrogate (not encodable as UTF-8) is refused the same way
        ("POST", "/ops/v1/branches", admin, {"name": "\ud800", "lat": 31.23, "lng": 121.47}, "name"),
        ("POST", "/ops/v1/operators", admin, {"username": "x", "password": "y", "roles": [NUL]}, "roles.0"),
    ]
    for method, url, headers, body, field in cases:
        sent = json.dumps(body)  # ASCII, escapes included: what a hostile client sends
        response = await client.request(method, url, content=sent, headers=headers | JSON)
        _names(response, field)
    me = await client.get("/mp/v1/me", headers=member)
    assert "\x00" not in (me.json()["nickname"] or "")
    branches = await client.get("/ops/v1/branches", headers=admin)
    assert branches.json()["items"] == []


async def test_nul_in_a_filter_or_path_is_422_naming_it(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    member = await login_member(client)
    for url, headers, field in [
        ("/ops/v1/audit?action=a%00b", admin, "action"),
        ("/ops/v1/members?tag=vip%00", admin, "tag"),
        ("/ops/v1/billpay/orders?ref=%00", admin, "ref"),
        ("/mp/v1/bills/billers?region=sh%00", member, "region"),
        ("/ops/v1/settlement/statements/1/conf%00irm", admin, "action"),
    ]:
        response = await client.request("POST" if "statements" in url else "GET", url, headers=headers)
        _names(response, field)


async def test_an_escaped_backslash_before_u0000_is_plain_text(client: httpx.AsyncClient) -> None:
    member = await login_member(client)
    response = await client.patch(
        "/mp/v1/me",
        content=b'{"nickname": "a\\\\u0000"}',
        headers=member | {"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["nickname"] == "a\\u0000"


async def test_numbers_are_not_dates(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    member = await login_member(client)
    for day in [0, "0", 20261121, 1.5, True]:
        _names(await client.post("/ops/v1/settlement/runs", json={"day": day}, headers=admin), "day")
        _names(await client.post("/ops/v1/billpay/reconciliations", json={"day": day}, headers=admin), "day")
    _names(await client.patch("/mp/v1/me", json={"birthday": 0}, headers=member), "birthday")
    _names(await client.get("/ops/v1/settlement/statements.csv?day=0", headers=admin), "day")
    _names(await client.get("/ops/v1/audit?since=1700000000", headers=admin), "since")
    campaign = {"name": "x", "starts_at": 1_800_000_000, "ends_at": "2027-01-01T00:00:00Z"}
    _names(await client.post("/ops/v1/campaigns", json=campaign, headers=admin), "starts_at")
    queued = await client.post("/ops/v1/settlement/runs", json={"day": "2026-11-21"}, headers=admin)
    assert queued.status_code in (200, 202), queued.text
