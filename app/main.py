"""The FastAPI application factory: three audiences, problem+json errors, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from app.console.app import build_console
from app.core.auth.deps import ops_guard
from app.core.auth.sessions import revocations
from app.core.body_limit import BodyLimitMiddleware, RouteBodyLimit
from app.core.config import Settings, get_settings
from app.core.docs_assets import install_docs
from app.core.errors import install_error_handlers
from app.core.fastlane import FastLanes
from app.core.health import router as health_router
from app.core.inputs import screen_request
from app.core.logs import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.openapi_complete import complete, route_operation_id
from app.core.plugins import Mount
from app.lifecycle import resources, stop_server_when_worker_fails
from app.wiring import PLUGINS, wire

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


def mounts() -> list[Mount]:
    """Every plugin's routers in the order FastAPI tries them (busiest first), each included directly.

    FastAPI matches nested routers level by level (each level scanning its routes twice), so a flat
    list keeps routing cheap on every request.
    """
    return sorted((mount for plugin in PLUGINS for mount in plugin.mounts), key=lambda mount: mount.rank)


def body_limits(settings: Settings) -> list[RouteBodyLimit]:
    """Routes whose documented bodies are larger than `LINLI_MAX_BODY_BYTES` (every other route has it).

    Listed by URL, the public contract, so the domains need not know; a test checks every entry names a
    real route and every file upload route is listed.
    """
    upload, bulk = settings.max_upload_body_bytes, settings.max_bulk_body_bytes
    return [
        RouteBodyLimit("PUT", "/merchant/v1/application/licence", upload),  # a 5 MB image
        RouteBodyLimit("POST", "/ops/v1/members/tags/import", upload),  # a 5 MB CSV
        # up to 10,000 member ids
        RouteBodyLimit("POST", "/ops/v1/campaigns/{campaign_id}/audience-members", bulk),
        RouteBodyLimit("POST", "/ops/v1/campaigns/{campaign_id}/audience-members/remove", bulk),
    ]


def create_app(
    settings: Settings | None = None, *, manage_resources: bool = True, fast_lanes: bool = True
) -> FastAPI:
    """Build the application; with `manage_resources` its lifespan opens the database and Redis.

    Without `fast_lanes`, laned routes are answered by their documented routes only (parity tests)."""
    settings = settings or get_settings()
    wire()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not manage_resources:
            yield
            return
        configure_logging(settings.log_level, settings.log_json)
        async with resources(settings, with_worker=settings.run_embedded_worker, embedded=True) as runner:
            stop = asyncio.Event()
            follower = asyncio.create_task(revocations.follow(stop), name="revocation-feed")
            watcher = (
                asyncio.create_task(stop_server_when_worker_fails(runner), name="worker-watch")
                if runner is not None
                else None
            )
            loops = [
                asyncio.create_task(loop(stop), name=f"{plugin.name}-loop")
                for plugin in PLUGINS
                for loop in plugin.api_loops
            ]
            # Everything alive now lives as long as the process: keep it out of the collector's full
            # passes, which otherwise stall the event loop for 100 ms at a time under a flash peak.
            gc.freeze()
            try:
                yield
            finally:
                stop.set()
                if watcher is not None:
                    watcher.cancel()
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
                for task in loops:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=10)

    app = FastAPI(
        title="Linli API",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs and /redoc are served with local assets (app.core.docs_assets), not FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        # Metrics are Prometheus's (app.core.metrics); FastAPI's OpenTelemetry hooks would cost every request
        # a provider lookup for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # Strings the database cannot store (NUL, lone surrogates) are a 422 on every route.
        dependencies=[Depends(screen_request)],
        # Operation ids a generated client reads well (`grab`, `listNearbyStores`): see `complete`.
        generate_unique_id_function=route_operation_id,
    )
    install_error_handlers(app)
    # The last added is the outermost. The fast lanes sit inside RequestContextMiddleware, so their
    # requests keep request ids and metrics, and inside the body limit, which covers them too.
    # FastLanes reads the routes that declare one (`app.core.fastlane.fast_lane`) when the app starts.
    if fast_lanes:
        app.add_middleware(FastLanes, application=app)
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes, routes=body_limits(settings))
    app.add_middleware(RequestContextMiddleware, log_requests=settings.access_log)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # outermost, so a preflight is answered before anything else reads the request
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Accept-Language"],
            expose_headers=["Retry-After", "Content-Language"],
            max_age=600,
        )
    app.include_router(health_router)
    ops_guarded = [Depends(ops_guard)]  # the ops API denies by default: endpoints declare their roles
    for mount in mounts():
        app.include_router(
            mount.router, prefix=mount.prefix, dependencies=ops_guarded if mount.guarded else []
        )
    install_docs(app)  # after the API routes, which are tried first
    app.mount("/console", build_console())  # the ops console's pages (outside the OpenAPI document)

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
