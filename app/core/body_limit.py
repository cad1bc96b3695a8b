"""Request body limits, enforced while the body streams in and before anything parses it.

`BodyLimitMiddleware` sits inside `RequestContextMiddleware` (request ids, access log) and outside
everything else, the fast lanes included. A request whose `Content-Length` is over its route's limit is
answered 413 `request.too_large` before a byte of the body is read; a body without one (chunked) is
counted as it arrives and refused as soon as it passes the limit, so an oversized upload never sits in
memory. The 413 asks the client to close the connection: the server need not drain the rest.

Every route has the default limit (`LINLI_MAX_BODY_BYTES`) unless the composition root lists it with a
larger one (`app.main.body_limits`: file uploads and bulk lists).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response

CODE = "request.too_large"
_CLOSE = {"Connection": "close"}
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RouteBodyLimit:
    """A route whose bodies may be larger (or must be smaller) than the default."""

    method: str
    path: str  # a route template, e.g. /ops/v1/campaigns/{campaign_id}/audience-members
    limit: int

    def pattern(self) -> re.Pattern[str]:
        """The template as a regular expression over request paths (a parameter is one segment)."""
        parts = re.split(r"(\{[^}]+\})", self.path)
        return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit (FastAPI re-raises HTTPExceptions
    met while reading a body, and the problem handler answers 413 `request.too_large`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=_detail(limit), headers=_CLOSE)
        self.limit = limit


def _detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


def _too_large(limit: int) -> ASGIApp:
    return problem_response(413, CODE, "Request too large", _detail(limit), headers=_CLOSE)


class BodyLimitMiddleware:
    """Refuse request bodies over their route's limit with 413 problem+json, reading no more than that."""

    def __init__(self, app: ASGIApp, *, default: int, routes: Iterable[RouteBodyLimit] = ()) -> None:
        self.app = app
        self.default = default
        self.routes = [(r.method.upper(), r.pattern(), r.limit) for r in routes]
        # Below this no route refuses anything: most requests are decided by one comparison.
        self.floor = min([default, *(r.limit for r in routes)])

    def limit_for(self, method: str, path: str) -> int:
        """The body limit of a request."""
        for route_method, pattern, limit in self.routes:
            if route_method == method and pattern.fullmatch(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None and not chunked:
            # The server delivers no more than Content-Length bytes: the header decides.
            if length > self.floor:
                limit = self.limit_for(scope["method"], scope["path"])
                if length > limit:
                    await _too_large(limit)(scope, receive, send)
                    return
            await self.app(scope, receive, send)
            return
        if not chunked and scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, self.limit_for(scope["method"], scope["path"]))

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Read outside the routes' exception handlers (a fast lane, a middleware): answer here.
            if started:
                raise
            await _too_large(limit)(scope, receive, send)
