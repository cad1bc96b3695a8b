"""The nearby fast lane: `GET /mp/v1/stores/nearby` answered before FastAPI's routing.

Nearby is the busiest customer request, and FastAPI's route matching, dependency solving and request
objects cost more CPU than the Redis call that answers it. This middleware recognises the path, reads
the query with the route's own model and answers with the route's own body function. Anything it
cannot read (a bad coordinate, radius, category or cursor) goes on to the documented route, which
answers with the usual 422 problem, so both paths always agree. It sits inside
`RequestContextMiddleware`: nearby keeps its request id, access log line and metrics.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import ProblemError
from miniprogram_api.stores import NearbyQuery, nearby_body

PATH = "/mp/v1/stores/nearby"
_ROUTE = SimpleNamespace(path_format="/stores/nearby")  # what the access log and metrics are labelled with
_HEADERS = [(b"content-type", b"application/json")]


def query_params(query_string: bytes) -> dict[str, str]:
    """The query string as Starlette reads it: blank values kept, the last of repeated names wins."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    # Nothing to unquote (the usual case): what parse_qsl would return, at a fraction of its cost.
    return dict(pair.partition("=")[::2] for pair in text.split("&") if pair)


def parse(query_string: bytes) -> tuple[NearbyQuery, int] | None:
    """The query and its offset, or None when the route must answer (it reports what is wrong)."""
    params = query_params(query_string)
    try:
        query = NearbyQuery.model_validate(params)
        return query, query.offset()
    except (ValidationError, ProblemError):
        return None


class NearbyLane:
    """ASGI middleware answering well-formed nearby requests without the framework's routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        parsed = parse(scope["query_string"])
        if parsed is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTE
        body = await nearby_body(*parsed)
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
