"""Helpers for the merchants tests: valid credit codes, applications, branches, approved merchants."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from merchants.discovery.qr import png
from merchants.validation import credit_code_check_char
from tests.helpers import next_phone, signup_merchant

_seq = itertools.count(1)
CENTRE = (31.2304, 121.4737)  # GCJ-02, People's Square, Shanghai
LICENCE_PNG = png("licence")


def credit_code(seed: int | None = None) -> str:
    """A fresh valid unified social credit code."""
    first17 = f"91310000{seed if seed is not None else next(_seq) + 10_000:09d}"
    return first17 + credit_code_check_char(first17)


def offset(lat: float, lng: float, north_m: float = 0, east_m: float = 0) -> tuple[float, float]:
    """A point the given metres north and east of another (small distances)."""
    import math

    return lat + north_m / 111_320, lng + east_m / (111_320 * math.cos(math.radians(lat)))


def application(lat: float = CENTRE[0], lng: float = CENTRE[1], **overrides: Any) -> dict[str, Any]:
    """A complete application body (all but the licence image)."""
    body: dict[str, Any] = {
        "credit_code": credit_code(),
        "category": "catering",
        "legal_rep_name": "Wang Fang",
        "legal_rep_phone": next_phone(),
        "settlement_bank": "Linli City Commercial Bank",
        "settlement_account_name": "Corner Coffee Ltd",
        "settlement_account": "6222020200112233445",
        "store_address": "12 Harbour Road",
        "lat": lat,
        "lng": lng,
        "hours": "07:30-21:00",
        "description": "Espresso and pastries",
        "photos": ["https://img.example.com/coffee.jpg"],
    }
    body.update(overrides)
    return body


async def create_branch(
    client: httpx.AsyncClient,
    ops: dict[str, str],
    lat: float = CENTRE[0],
    lng: float = CENTRE[1],
    **extra: Any,
) -> int:
    """Register a branch; returns its (grid) id."""
    body = {"name": f"Branch {next(_seq)}", "address": "1 Bank Street", "lat": lat, "lng": lng} | extra
    response = await client.post("/ops/v1/branches", json=body, headers=ops)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def draft_merchant(
    client: httpx.AsyncClient, name: str = "Corner Coffee", **overrides: Any
) -> tuple[dict[str, str], int]:
    """A merchant with a complete draft application and its licence; returns the owner header and id."""
    owner, _ = await signup_merchant(client, name)
    response = await client.patch("/merchant/v1/application", json=application(**overrides), headers=owner)
    assert response.status_code == 200, response.text
    upload = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("licence.png", LICENCE_PNG, "image/png")},
        headers=owner,
    )
    assert upload.status_code == 200, upload.text
    return owner, int(response.json()["id"])


async def active_merchant(
    client: httpx.AsyncClient, ops: dict[str, str], name: str = "Corner Coffee", **overrides: Any
) -> tuple[dict[str, str], int, int]:
    """A submitted and approved merchant; returns the owner header, merchant id and store id."""
    owner, merchant_id = await draft_merchant(client, name, **overrides)
    submitted = await client.post("/merchant/v1/application/submit", headers=owner)
    assert submitted.status_code == 200, submitted.text
    approved = await client.post(f"/ops/v1/merchants/{merchant_id}/approve", headers=ops)
    assert approved.status_code == 200, approved.text
    return owner, merchant_id, int(approved.json()["stores"][0]["id"])


async def nearby_ids(client: httpx.AsyncClient, lat: float, lng: float, **params: Any) -> list[int]:
    """Store ids nearby a point (first page)."""
    response = await client.get("/mp/v1/stores/nearby", params={"lat": lat, "lng": lng, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
