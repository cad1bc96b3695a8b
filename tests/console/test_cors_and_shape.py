"""CORS from the LINLI_CORS_ORIGINS setting (none by default); the console adds no API, queries through
services and repositories, and ships its assets in the package."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.core.config import Settings
from app.main import create_app
from tests.core.test_architecture import orm_calls

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://merchant.example.com"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
}


async def test_a_preflight_from_an_allowed_origin_is_answered() -> None:
    app = create_app(Settings(cors_origins=f"{ORIGIN}, https://webview.example.com"), manage_resources=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        allowed = await client.options("/merchant/v1/sales", headers=PREFLIGHT)
        other = await client.options(
            "/merchant/v1/sales", headers=PREFLIGHT | {"Origin": "https://evil.example"}
        )
        simple = await client.get("/healthz", headers={"Origin": ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "idempotency-key" in allowed.headers["access-control-allow-headers"].lower()
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == ORIGIN


async def test_no_origin_is_allowed_by_default(client: httpx.AsyncClient) -> None:
    response = await client.options("/merchant/v1/sales", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers


def test_console_pages_make_no_orm_calls() -> None:
    modules = [*ROOT.glob("app/console/*.py"), *ROOT.glob("app/console/pages/*.py")]
    assert len(modules) > 8
    found = {str(p.relative_to(ROOT)): orm_calls(p.read_text()) for p in modules}
    assert {path: calls for path, calls in found.items() if calls} == {}


def test_console_routes_stay_out_of_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = create_app(manage_resources=False).openapi()["paths"]
    assert not [p for p in paths if p.startswith("/console")]
