"""A Redis-backed rate limiter (GCRA, one EVALSHA per check) usable per route, principal or IP."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import Depends, Request

from app.core.auth.tokens import Principal
from app.core.errors import RateLimited
from app.core.redis_client import LuaScript, key

_GCRA = LuaScript.from_file(Path(__file__).with_name("ratelimit.lua"))


async def hit(bucket: str, subject: str, *, limit: int, period: float) -> None:
    """Count one request of `subject` against `limit` per `period` seconds; raise 429 when over."""
    wait_ms = int(await _GCRA([key("rl", f"{bucket}:{subject}")], [int(period * 1000), limit]))
    if wait_ms > 0:
        raise RateLimited(max(1, math.ceil(wait_ms / 1000)))


def client_ip(request: Request) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def limit_per_ip(bucket: str, *, limit: int, period: float) -> Callable[[Request], Awaitable[None]]:
    """A dependency limiting each client IP on a route."""

    async def check(request: Request) -> None:
        await hit(bucket, f"ip:{client_ip(request)}", limit=limit, period=period)

    return check


def limit_per_principal(
    bucket: str,
    principal_dependency: Callable[..., Awaitable[Principal]],
    *,
    limit: int,
    period: float,
) -> Callable[..., Awaitable[Principal]]:
    """A dependency authenticating with `principal_dependency`, then limiting that principal."""

    async def check(principal: Principal = Depends(principal_dependency)) -> Principal:
        await hit(bucket, principal.ref, limit=limit, period=period)
        return principal

    return check
