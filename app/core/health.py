"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app.core import heartbeat, metrics
from app.core.db import db
from app.core.redis_client import get_redis

router = APIRouter(tags=["Health"])


@router.get("/healthz", summary="Process alive")
async def healthz() -> dict[str, str]:
    """The process is up (no dependency checked): the trivial reference endpoint of the benchmarks."""
    return {"status": "ok"}


async def _check(name: str, probe: Callable[[], Awaitable[Any]]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=2)
        return name, "ok"
    except Exception as exc:
        return name, f"error: {type(exc).__name__}"


async def _workers() -> list[dict[str, Any]] | None:
    try:
        return await asyncio.wait_for(heartbeat.live_workers(get_redis()), timeout=2)
    except Exception:
        return None


@router.get("/readyz", summary="Database and Redis reachable")
async def readyz() -> JSONResponse:
    """200 when the database and Redis answer, else 503 with what failed."""
    # `workers`, for information only: the job workers whose heartbeat is fresh (`age_s`: since their
    # last tick, `poll_age_s`: since their arq loop last polled the queue), see docs/reliability.md.
    database, redis, workers = await asyncio.gather(
        _check("database", lambda: db().execute_query("SELECT 1")),
        _check("redis", lambda: get_redis().ping()),
        _workers(),
    )
    results = dict([database, redis])
    ok = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": results, "workers": workers},
        status_code=200 if ok else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics() -> Response:
    """Requests and latency per route, jobs run and failed."""
    return Response(await metrics.render(), media_type=metrics.CONTENT_TYPE)
