"""Every error is RFC 9457 problem+json with a stable code and the request id."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI

from app.main import create_app
from tests.helpers import PASSWORD, login_member, login_operator


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["detail"]
    assert body["type"].endswith(code)
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_400_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/ops/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "request.malformed")


async def test_401_without_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/ops/v1/me"), 401, "auth.missing_token")


async def test_403_role_not_allowed(client: httpx.AsyncClient) -> None:
    headers = await login_operator(client, "auditor")
    assert_problem(await client.get("/ops/v1/operators", headers=headers), 403, "auth.forbidden")


async def test_404_unknown_route_and_resource(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/no/such/route"), 404, "not_found")
    headers = await login_operator(client)
    assert_problem(await client.get("/ops/v1/jobs/dead/999", headers=headers), 404, "not_found")


async def test_405_method_not_allowed(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_409_conflict(client: httpx.AsyncClient) -> None:
    headers = await login_operator(client, username="boss")
    body = {"username": "boss", "password": PASSWORD, "roles": ["auditor"]}
    assert_problem(await client.post("/ops/v1/operators", json=body, headers=headers), 409, "operator.exists")


async def test_422_lists_each_offending_field(client: httpx.AsyncClient) -> None:
    headers = await login_operator(client)
    response = await client.post(
        "/ops/v1/operators", json={"username": "x", "password": "short", "roles": ["pilot"]}, headers=headers
    )
    body = assert_problem(response, 422, "validation_error")
    fields = {e["field"] for e in body["errors"]}
    assert {"username", "password", "roles.0"} <= fields
    assert "username" in body["detail"]


async def test_422_for_bad_query_parameter(client: httpx.AsyncClient) -> None:
    headers = await login_operator(client)
    body = assert_problem(
        await client.get("/ops/v1/operators?limit=1000", headers=headers), 422, "validation_error"
    )
    assert body["errors"][0]["field"] == "limit"


async def test_429_with_retry_after(client: httpx.AsyncClient) -> None:
    statuses = []
    for i in range(31):
        response = await client.post("/mp/v1/auth/login", json={"code": f"dev:burst{i}"})
        statuses.append(response.status_code)
    assert statuses[:30] == [200] * 30
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1


async def test_500_hides_internals_and_logs_request_id(caplog) -> None:  # type: ignore[no-untyped-def]
    app: FastAPI = create_app(manage_resources=False)
    broken = APIRouter()

    @broken.get("/boom")
    async def boom() -> None:
        raise RuntimeError("SELECT secret FROM vault")

    app.include_router(broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/boom", headers={"X-Request-ID": "req-500"})
    body = assert_problem(response, 500, "internal")
    assert "SELECT" not in response.text and "Traceback" not in response.text
    assert body["request_id"] == "req-500"
    assert any(getattr(r, "exc_info", None) and "boom" in r.getMessage() for r in caplog.records)


async def test_member_token_is_useless_on_ops_routes(client: httpx.AsyncClient) -> None:
    headers = await login_member(client)
    assert_problem(await client.get("/ops/v1/me", headers=headers), 401, "auth.token_invalid")


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.put("/ops/v1/campaigns/1")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH"}


async def test_every_malformed_body_is_one_problem(client: httpx.AsyncClient) -> None:
    bodies = [b"{not json", b"[" * 5000 + b"]" * 5000, b'{"code": "\xff\xfe"}', b'{"code": "dev:' + b"[" * 3]
    for body in bodies:
        response = await client.post(
            "/mp/v1/auth/login", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (body[:20], response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "request.malformed", response.text
