"""Request bodies over their route's limit get 413 problem+json before anything parses them, and the
body is not read past the limit (with Content-Length: not at all), on routes and fast lanes alike."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from app.core.config import get_settings
from app.main import body_limits
from merchants.onboarding.storage import MAX_IMAGE_BYTES
from tests.core.test_errors import assert_problem
from tests.helpers import login_member, login_operator, signup_merchant

MB = 1024 * 1024
CHUNK = 64 * 1024
PNG = b"\x89PNG\r\n\x1a\n"


class Feed:
    """A request body of `total` bytes in chunks, counting how much the server pulled."""

    def __init__(self, total: int, chunk: int = CHUNK) -> None:
        self.total = total
        self.chunk = chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            piece = b"x" * min(self.chunk, self.total - self.sent)
            self.sent += len(piece)
            yield piece


async def test_21_mb_login_with_content_length_is_refused_unread(client: httpx.AsyncClient) -> None:
    feed = Feed(21 * MB)
    response = await client.post(
        "/mp/v1/auth/login",
        content=feed,
        headers={"content-type": "application/json", "content-length": str(21 * MB)},
    )
    body = assert_problem(response, 413, "request.too_large")
    assert str(get_settings().max_body_bytes) in body["detail"]
    assert response.headers["connection"] == "close"
    assert feed.sent == 0  # decided on the header: not a byte of the body was read


async def test_21_mb_chunked_login_is_refused_at_the_limit(client: httpx.AsyncClient) -> None:
    feed = Feed(21 * MB)
    response = await client.post(
        "/mp/v1/auth/login", content=feed, headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "request.too_large")
    # read only up to the first chunk past the limit, not the 21 MB
    assert feed.sent <= get_settings().max_body_bytes + CHUNK


async def test_bodies_within_the_limit_reach_the_route(client: httpx.AsyncClient) -> None:
    limit = get_settings().max_body_bytes
    padded = b'{"code": "dev:alice"' + b" " * (limit - 21) + b"}"  # JSON allows the whitespace
    assert len(padded) == limit
    json = {"content-type": "application/json"}
    accepted = await client.post("/mp/v1/auth/login", content=padded, headers=json)
    assert accepted.status_code == 200, accepted.text
    chunked = await client.post("/mp/v1/auth/login", content=Feed(limit, chunk=1000), headers=json)
    assert_problem(chunked, 400, "request.malformed")  # parsed, and found not to be JSON
    over = b'{"code": "dev:alice"' + b" " * (limit - 20) + b"}"
    assert_problem(
        await client.post("/mp/v1/auth/login", content=over, headers=json), 413, "request.too_large"
    )


async def test_the_grab_lane_is_covered(client: httpx.AsyncClient) -> None:
    member = await login_member(client)
    sized = await client.post(
        "/mp/v1/campaigns/1/grab",
        content=Feed(2 * MB),
        headers=member | {"content-length": str(2 * MB)},
    )
    assert_problem(sized, 413, "request.too_large")
    # Chunked: the lane never reads a grab's body, and nothing reads it past the limit for it.
    feed = Feed(2 * MB)
    response = await client.post("/mp/v1/campaigns/1/grab", content=feed, headers=member)
    assert_problem(response, 404, "campaign.not_found")
    assert feed.sent <= get_settings().max_body_bytes + CHUNK


async def test_licence_upload_has_its_own_5_mb_limit(client: httpx.AsyncClient) -> None:
    owner, _ = await signup_merchant(client)
    # A little over 5 MB: the body passes the limit and the route answers with its own rule.
    image = PNG + b"\0" * (MAX_IMAGE_BYTES + 1 - len(PNG))
    just_over = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.png", io.BytesIO(image), "image/png")},
        headers=owner,
    )
    assert_problem(just_over, 422, "upload.too_large")
    # Far over: refused while streaming, before the multipart parser saw it all.
    huge = PNG + b"\0" * (8 * MB)
    refused = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.png", io.BytesIO(huge), "image/png")},
        headers=owner,
    )
    body = assert_problem(refused, 413, "request.too_large")
    assert str(get_settings().max_upload_body_bytes) in body["detail"]
    small = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.png", PNG + b"\0" * (200 * 1024), "image/png")},
        headers=owner,
    )
    assert small.status_code == 200, small.text  # bigger than the JSON default, well within its own


async def test_a_full_audience_list_fits_its_bulk_limit(client: httpx.AsyncClient) -> None:
    team = await login_operator(client, "campaign_manager")
    ids = [10**17 + i for i in range(10_000)]  # the schema's maximum, with long ids
    response = await client.post(
        "/ops/v1/campaigns/999/audience-members", json={"member_ids": ids}, headers=team
    )
    assert len(response.request.content) > get_settings().max_body_bytes
    # parsed and handed to the service, which looked the members up: not refused for its size
    body = assert_problem(response, 422, "validation_error")
    assert "unknown members" in body["detail"]
    too_many = await client.post(
        "/ops/v1/campaigns/999/audience-members",
        content=Feed(get_settings().max_bulk_body_bytes + 1),
        headers=team,
    )
    assert_problem(too_many, 413, "request.too_large")


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _max_items(schema: dict[str, Any], components: dict[str, Any], seen: frozenset[str]) -> int:
    """The largest `maxItems` of any array in a schema (an unbounded list is bounded by the body limit)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return 0
        return _max_items(components[name], components, seen | {name})
    found = 0
    if schema.get("type") == "array":
        found = int(schema.get("maxItems", 0))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found = max(found, _max_items(schema[key], components, seen))
    for key in ("properties",):
        for sub in (schema.get(key) or {}).values():
            found = max(found, _max_items(sub, components, seen))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            found = max(found, _max_items(sub, components, seen))
    return found


def test_every_large_body_route_has_a_limit_and_every_limit_a_route(app: FastAPI) -> None:
    """Uploads and long lists need more than the JSON default; the table must follow the routes."""
    settings = get_settings()
    document = app.openapi()
    components = document["components"]["schemas"]
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    listed = {(r.method, r.path): r.limit for r in body_limits(settings)}
    assert set(listed) <= set(operations), "a body limit names no route"
    needing = set()
    for key, operation in operations.items():
        content = (operation.get("requestBody") or {}).get("content") or {}
        if "multipart/form-data" in content or "application/x-www-form-urlencoded" in content:
            needing.add(key)
        for media in content.values():
            # 20 bytes per item covers 64-bit ids: lists that can outgrow the default need an entry
            if _max_items(media.get("schema", {}), components, frozenset()) * 20 > settings.max_body_bytes:
                needing.add(key)
    assert needing <= set(listed), f"routes needing a body limit: {sorted(needing - set(listed))}"
    assert all(limit > settings.max_body_bytes for limit in listed.values())


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[int]:
    """The application behind a real uvicorn server (httptools) on a free local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http="httptools", lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def _exchange(port: int, head: bytes, body: bytes) -> bytes:
    """Send a request head and part of its body; everything the server answers until it hangs up."""
    loop = asyncio.get_running_loop()
    with socket.socket() as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, head + body)
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # a reset after the answer is fine
            while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), timeout=30):
                answer += chunk
        return answer


async def test_real_server_answers_413_early_and_closes(app: FastAPI) -> None:
    """Over a socket: the 413 comes after 1 MB of a declared 21 MB, and the server hangs up (the
    receive loop ends at EOF, so the rest of the body is never awaited)."""
    async with served(app) as port:
        head = b"POST /mp/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        answer = await _exchange(port, head + f"content-length: {21 * MB}\r\n\r\n".encode(), b"x" * MB)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"application/problem+json" in answer and b"connection: close" in answer.lower()
        assert b'"request.too_large"' in answer

        # chunked, no Content-Length: refused once the limit is passed (256 KiB of an endless body)
        piece = b"x" * CHUNK
        chunks = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") * 4
        answer = await _exchange(port, head + b"transfer-encoding: chunked\r\n\r\n", chunks)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b'"request.too_large"' in answer
