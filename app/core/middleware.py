"""Pure-ASGI middleware: request ids, access logs and per-route metrics, cheap enough for the hot path."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response
from app.core.faults import unavailable_service
from app.core.logs import request_id_var, trace_id_var
from app.core.metrics import observe_request
from app.core.problem_i18n import negotiate

access_log = logging.getLogger("linli.access")
error_log = logging.getLogger("linli.errors")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# W3C Trace Context: version-traceid-parentid-flags, the trace id not all zeros.
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?!0{32})([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_PROBLEM_CODE = re.compile(rb'"code":\s*"([^"\\]{1,100})"')
UNAVAILABLE = "service.unavailable"
RETRY_AFTER = "1"  # seconds: a lost connection is replaced on the next request


def route_template(scope: Scope) -> str:
    """The full path template of the matched route, e.g. `/merchant/v1/staff/{staff_id}`."""
    local: str | None = getattr(scope.get("route"), "path_format", None)
    if not local:
        return "unmatched"
    # Routes of included routers know only their own path: take the prefix from the request path.
    parts = scope["path"].split("/")
    return "/".join(parts[: len(parts) - local.count("/")]) + local


class RequestContextMiddleware:
    """Accept or mint `X-Request-ID`, echo it, time the request, log it and count it per route."""

    def __init__(self, app: ASGIApp, *, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = traceparent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = _TRACEPARENT.match(value.decode("latin-1").strip().lower())
        request_id = incoming if incoming and _VALID_ID.match(incoming) else secrets.token_hex(16)
        token = request_id_var.set(request_id)
        trace_token = trace_id_var.set(traceparent.group(1) if traceparent else None)
        status = 500
        code: str | None = None
        problem = False
        started = time.perf_counter()
        header = (b"x-request-id", request_id.encode())

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response, code, problem
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", []), header]
                problem = status >= 400 and any(
                    name == b"content-type" and value.startswith(b"application/problem+json")
                    for name, value in message["headers"]
                )
            elif problem and code is None:
                found = _PROBLEM_CODE.search(message.get("body", b""))
                code = found.group(1).decode() if found else None
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # The error boundary: log with the request id, answer problem+json, never leak details. A
            # database or Redis out of reach is 503 (retry), anything else a 500.
            service = unavailable_service(exc)
            language = negotiate(Headers(scope=scope).get("accept-language"))
            if service is None:
                error_log.error("unhandled exception on %s %s", scope["method"], scope["path"], exc_info=exc)
                status = 500
                response = problem_response(
                    500, "internal", "Internal error", "an unexpected error occurred", language=language
                )
            else:
                error_log.warning("%s unavailable on %s %s: %r", service, scope["method"], scope["path"], exc)
                status = 503
                response = problem_response(
                    503,
                    UNAVAILABLE,
                    "Service unavailable",
                    f"the {service} is unavailable; retry shortly",
                    headers={"Retry-After": RETRY_AFTER},
                    language=language,
                )
            if started_response:
                raise
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            observe_request(scope["method"], template, status, elapsed)
            if self.log_requests:
                access_log.info(
                    "%s %s %s%s",
                    scope["method"],
                    template,
                    status,
                    f" {code}" if code else "",
                    extra={"status": status, "duration_ms": round(elapsed * 1000, 2)}
                    | ({"code": code} if code else {})
                    | ({"trace_id": traceparent.group(1)} if traceparent else {}),
                )
            request_id_var.reset(token)
            trace_id_var.reset(trace_token)
