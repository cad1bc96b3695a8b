"""The grab fast lane: `POST /mp/v1/campaigns/{id}/grab` answered by a small ASGI middleware.

A flash peak is tens of thousands of identical requests within seconds. FastAPI's route matching and
dependency resolution cost more CPU than the grab itself, so this middleware recognises the grab by
its path and answers it directly: the same authentication (`current_member`), the same service call
and the same JSON as the documented route in `miniprogram_api.campaigns`, which it shares. Every
other request passes through untouched, and it sits inside `RequestContextMiddleware`, so grabs keep
their request id, access log line and metrics.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import orjson
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.auth.deps import current_member
from app.core.errors import ProblemError, problem_response
from campaigns import flash

_GRAB_PATH = re.compile(r"/mp/v1/campaigns/([0-9]{1,18})/grab")
_JSON = [(b"content-type", b"application/json")]
# What RequestContextMiddleware reads to label the access log and metrics with the route template.
_ROUTE = SimpleNamespace(path_format="/campaigns/{campaign_id}/grab")


async def grab_body(campaign_id: int, member_id: int, key: str | None, ip: str) -> bytes:
    """The JSON answer to one grab (shared by the lane and the documented route)."""
    answer = await flash.grab(campaign_id, member_id, flash.check_idempotency_key(key), ip)
    return orjson.dumps(
        {
            "campaign_id": campaign_id,
            "outcome": answer.outcome,
            "ticket_id": answer.ticket_id,
            "sequence": answer.sequence or None,
        }
    )


def _credentials(value: str | None) -> HTTPAuthorizationCredentials | None:
    # As fastapi.security.HTTPBearer(auto_error=False) reads the header.
    scheme, token = get_authorization_scheme_param(value)
    if not (value and scheme and token):
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)


class GrabLane:
    """ASGI middleware answering flash grabs without the framework's routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _GRAB_PATH.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTE
        request = Request(scope, receive)
        headers = request.headers
        try:
            member = await current_member(request, _credentials(headers.get("authorization")))
            client = scope.get("client")
            ip = client[0] if client else "unknown"
            body = await grab_body(int(match.group(1)), member.id, headers.get("idempotency-key"), ip)
        except ProblemError as exc:
            response = problem_response(
                exc.status, exc.code, exc.title, exc.detail, headers=exc.headers, extra=exc.extra
            )
            await response(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
