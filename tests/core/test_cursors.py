"""Cursors are opaque and tamper-evident: anything but a cursor this API issued is 422
`pagination.invalid_cursor`, on every list."""

from __future__ import annotations

import base64
import json
import re

import httpx
from fastapi import FastAPI

from app.core.pagination import decode_cursor, encode_cursor
from tests.helpers import login_member, login_operator, signup_merchant


def _unsigned(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


DEEP = _unsigned("[" * 5000 + "]" * 5000)


def hostile() -> list[str]:
    """Cursors this API never issued (built when the test runs: signing needs the settings)."""
    return [
        DEEP,
        _unsigned(json.dumps({"id": 2**70})),  # the old, unsigned format, out of range
        _unsigned(json.dumps({"id": 5})),  # well-formed but not signed
        encode_cursor({"id": 5})[:-2] + "AA",  # a signature that does not match
        encode_cursor({"id": 2**63}),  # signed, but out of range
        encode_cursor({"id": 0}),
        encode_cursor({"id": "5"}),
        encode_cursor({"o": 5}),  # a nearby cursor on another list
        "x" * 600,
        "é.é",
        ".",
    ]


def _with_ids(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_a_cursor_round_trips_and_a_tampered_one_is_refused() -> None:
    cursor = encode_cursor({"id": 42})
    assert decode_cursor(cursor) == {"id": 42}
    payload, _, mac = cursor.partition(".")
    forged = _unsigned(json.dumps({"id": 43})) + "." + mac
    for bad in [forged, payload, DEEP]:
        try:
            decode_cursor(bad)
        except Exception as exc:
            assert getattr(exc, "code", None) == "pagination.invalid_cursor"
        else:
            raise AssertionError(f"accepted {bad!r}")


async def test_every_list_refuses_every_hostile_cursor(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = {
        "/mp/": await login_member(client),
        "/merchant/": (await signup_merchant(client))[0],
        "/ops/": await login_operator(client),
    }
    lists = [
        path
        for path, operations in app.openapi()["paths"].items()
        if any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert len(lists) > 20
    for path in lists:
        audience = next(v for k, v in headers.items() if path.startswith(k))
        params: dict[str, str | float] = {"lat": 31.23, "lng": 121.47} if path.endswith("/nearby") else {}
        nearby_cursor = encode_cursor({"o": 5})  # a genuine cursor of nearby, refused by the others
        for cursor in [c for c in hostile() if not (path.endswith("/nearby") and c == nearby_cursor)]:
            response = await client.get(_with_ids(path), params=params | {"cursor": cursor}, headers=audience)
            # a list under a resource (every path id is 1 here) may answer 404 for the resource first
            expected = (422,) if "{" not in path else (404, 422)
            assert response.status_code in expected, (path, cursor[:40], response.text)
            if response.status_code == 422:
                assert response.json()["code"] == "pagination.invalid_cursor", (path, response.text)
                assert response.json()["errors"][0]["field"] == "cursor"
    nearby = await client.get("/mp/v1/stores/nearby", params={"lat": 31.23, "lng": 121.47, "cursor": DEEP})
    assert nearby.status_code == 422 and nearby.json()["code"] == "pagination.invalid_cursor"
