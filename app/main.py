"""The FastAPI application factory: three audiences, problem+json errors, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from app.auth.deps import ops_guard
from app.auth.sessions import revocations
from app.config import Settings, get_settings
from app.errors import install_error_handlers
from app.health import router as health_router
from app.lifecycle import resources
from app.logs import configure_logging
from app.middleware import RequestContextMiddleware
from app.openapi_complete import complete
from app.wiring import wire
from campaigns.flash_runtime import runtime as flash_runtime
from miniprogram_api.grab_lane import GrabLane
from miniprogram_api.nearby_lane import NearbyLane

DESCRIPTION = """
Linli (邻里) is the backend of a bank-run local-life and merchant-alliance platform.

* **/mp/v1** — customers, through the bank's mini-program
* **/merchant/v1** — merchant staff, through the merchant console
* **/ops/v1** — bank operations

Every error is `application/problem+json` (RFC 9457) with a stable `code`. Requests that change
money, points, stock or vouchers accept an `Idempotency-Key` header. Lists are cursor-paginated.
"""

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details with a stable machine `code`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine-readable error code"},
        "request_id": {"type": "string", "nullable": True},
        "errors": {
            "type": "array",
            "description": "validation errors, one per offending field",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def api_routers() -> list[tuple[str, APIRouter, list[Any]]]:
    """Every domain router with its audience prefix and router-wide dependencies, listed explicitly.

    The app includes each one directly: FastAPI matches nested routers level by level (each level
    scanning its routes twice), so a flat list keeps routing cheap on every request.
    """
    from app import router_ops as core_ops
    from campaigns import router_merchant as campaign_console
    from campaigns import router_ops as campaign_ops
    from loyalty import router_merchant as loyalty_console
    from loyalty import router_ops as loyalty_ops
    from merchants import router_merchant as merchant_console
    from merchants import router_ops as merchant_ops
    from miniprogram_api.billpay import router_ops as billpay_ops
    from miniprogram_api.router import BUSIEST_CUSTOMER_ROUTERS
    from miniprogram_api.router import ROUTERS as customer_routers

    ops_guarded = [Depends(ops_guard)]  # the ops API denies by default: endpoints declare their roles
    # FastAPI tries every route of every router in this order (at ~3 µs a route, a request to the
    # last one pays ~0.5 ms), so the busiest come first: the customer's stores and home, the till
    # (sales and redemptions), then the rest of each audience.
    busiest = BUSIEST_CUSTOMER_ROUTERS
    return [
        *(("/mp/v1", router, []) for router in customer_routers[:busiest]),
        ("/merchant/v1", loyalty_console.router, []),
        *(("/mp/v1", router, []) for router in customer_routers[busiest:]),
        ("/merchant/v1", merchant_console.router, []),
        ("/merchant/v1", campaign_console.router, []),
        ("/ops/v1", core_ops.public, []),
        ("/ops/v1", core_ops.router, ops_guarded),
        ("/ops/v1", merchant_ops.router, ops_guarded),
        ("/ops/v1", loyalty_ops.router, ops_guarded),
        ("/ops/v1", campaign_ops.router, ops_guarded),
        ("/ops/v1", billpay_ops.router, ops_guarded),
    ]


def create_app(settings: Settings | None = None, *, manage_resources: bool = True) -> FastAPI:
    """Build the application; with `manage_resources` its lifespan opens the database and Redis."""
    settings = settings or get_settings()
    wire()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not manage_resources:
            yield
            return
        configure_logging(settings.log_level, settings.log_json)
        async with resources(settings, with_worker=settings.run_embedded_worker):
            stop = asyncio.Event()
            follower = asyncio.create_task(revocations.follow(stop), name="revocation-feed")
            # Per-process flash caches and write-behind; it returns (after a last flush) when stopped.
            flash = asyncio.create_task(flash_runtime.run(stop), name="flash-runtime")
            # Everything alive now lives as long as the process: keep it out of the collector's full
            # passes, which otherwise stall the event loop for 100 ms at a time under a flash peak.
            gc.freeze()
            try:
                yield
            finally:
                stop.set()
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(flash, timeout=10)

    app = FastAPI(
        title="Linli API",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url="/redoc",
        # Metrics are Prometheus's (app.metrics); FastAPI's OpenTelemetry hooks would cost every request
        # a provider lookup for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    # The fast lanes sit inside RequestContextMiddleware: their requests keep request ids and metrics.
    app.add_middleware(GrabLane)
    app.add_middleware(NearbyLane)
    app.add_middleware(RequestContextMiddleware, log_requests=settings.access_log)
    app.include_router(health_router)
    for prefix, router, dependencies in api_routers():
        app.include_router(router, prefix=prefix, dependencies=dependencies)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = complete(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
