"""Fast lanes: the hottest routes answered before FastAPI's routing, by the routes' own code.

A flash peak or a map being panned is thousands of identical requests a second, and FastAPI's route
matching, dependency solving and request objects cost more CPU than the Redis call that answers them. A
route opts in with `@fast_lane(handler)` under its route decorator; `FastLanes`, one ASGI middleware
inside `RequestContextMiddleware`, is built from the application's real routes when the app starts and
answers matching requests by calling the handler directly:

* the lane matches with the route itself: its methods, its full path (the router's prefix included) and
  the path regex and parameter convertors Starlette compiled for it; a fixed path prefix and the method
  are checked before any regex, so a request that is not laned costs a few string comparisons;
* `scope["route"]` is the route object the router would have selected, so access logs and metrics are
  labelled with the route's template exactly as for routed requests;
* the handler gets a `LaneRequest`: Starlette's request with the route's path parameters, the caller as
  the route's own authentication dependency sees it and the client address as the route computes it;
* an exception the handler raises is rendered by the application's own exception handlers (a
  `ProblemError` becomes the same problem+json the route would answer); any other goes up unhandled,
  as it would from the route;
* the handler returns the JSON body of a 200, or None to let the documented route answer (a request it
  cannot read exactly as FastAPI would: the route then answers, with its 422). A handler that returns
  None must not have read the request body.

The handler and the route share the function that computes the answer, so one piece of code serves
both; the parity tests (tests/miniprogram/test_lane_parity.py) send the same requests through the app
with and without its lanes and require the same status, headers and body.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials
from starlette._utils import get_route_path
from starlette.convertors import Convertor, StringConvertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.auth.deps import _bearer  # the bearer scheme every route's authentication depends on

# The answer of a lane: the JSON body of a 200, or None to let the documented route answer.
LaneHandler = Callable[["LaneRequest"], Awaitable[bytes | None]]
LANE_ATTR = "__linli_fast_lane__"
# Longest run of digits `LaneRequest.int_param` reads itself (every int64 and beyond); longer ones are
# left to FastAPI's own integer parsing.
_MAX_INT_DIGITS = 20
_JSON = (b"content-type", b"application/json")

F = TypeVar("F", bound=Callable[..., Any])
P = TypeVar("P")


def fast_lane(handler: LaneHandler) -> Callable[[F], F]:
    """Answer the decorated route through `handler` before routing (put it under the route decorator)."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, LANE_ATTR, handler)
        return endpoint

    return mark


class LaneRequest(Request):
    """The request a lane handler answers: Starlette's, plus what the route's dependencies would give."""

    def query_dict(self) -> dict[str, str]:
        """The query string as `dict(request.query_params)` reads it (blank values kept, the last of
        repeated names wins), at a fraction of its cost when there is nothing to unquote."""
        text = self.scope["query_string"].decode("latin-1")
        if "%" in text or "+" in text:
            return dict(parse_qsl(text, keep_blank_values=True))
        return dict(pair.partition("=")[::2] for pair in text.split("&") if pair)

    def int_param(self, name: str) -> int | None:
        """The path parameter as FastAPI reads an `int` one, when it is plain ASCII digits; else None
        (signs, spaces, underscores and the like: the handler returns None and FastAPI decides)."""
        value = self.path_params[name]
        if isinstance(value, int):  # an `{name:int}` path: Starlette's convertor read it already
            return value
        if value.isascii() and value.isdigit() and len(value) <= _MAX_INT_DIGITS:
            return int(value)
        return None

    async def principal(
        self, dependency: Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[P]]
    ) -> P:
        """The caller as an authentication dependency sees it (e.g. `current_member`), with the bearer
        credentials read by the very scheme the routes use; its errors are the route's errors."""
        return await dependency(self, await _bearer(self))

    @property
    def client_ip(self) -> str:
        """The client's address, as the routes compute it: `app.core.ratelimit.client_ip` (read from the
        scope here, without building Starlette's `Address`, a microsecond a grab)."""
        client = self.scope.get("client")
        return str(client[0]) if client is not None else "unknown"


@dataclass(frozen=True, slots=True)
class Lane:
    """One laned route as the middleware matches it."""

    methods: frozenset[str]
    path: str  # the full path template, e.g. `/mp/v1/campaigns/{campaign_id}/grab`
    prefix: str  # its literal start, up to the first parameter: checked before the regex
    regex: re.Pattern[str] | None  # None when the path has no parameter: the prefix is the whole path
    convertors: Mapping[str, Convertor[Any]]
    converts: bool  # some convertor changes its text (`{id:int}`): the plain `{id}` hands over the string
    route: BaseRoute  # what the router puts in `scope["route"]` for this route
    handler: LaneHandler


def lanes_of(app: FastAPI) -> list[Lane]:
    """Every route of the app that declares a lane, in routing order, with its full path.

    Refuses to start when an earlier route would take a laned route's requests (the lane would answer
    requests the router sends elsewhere)."""
    lanes: list[Lane] = []
    seen: list[Any] = []
    for context in iter_route_contexts(app.routes):
        handler = getattr(context.endpoint, LANE_ATTR, None)
        if handler is not None:
            lane = _lane(context, handler)
            _refuse_shadowing(lane, seen)
            lanes.append(lane)
        seen.append(context)
    return lanes


def _lane(context: Any, handler: LaneHandler) -> Lane:
    path: str = context.path_format
    convertors: dict[str, Convertor[Any]] = dict(context.param_convertors)
    # HEAD is left to the router: a lane always sends a body.
    methods = frozenset(context.methods or ()) - {"HEAD"}
    if not methods:
        raise RuntimeError(f"the laned route {path} declares no method a lane can answer")
    return Lane(
        methods=methods,
        path=path,
        prefix=path.partition("{")[0],
        regex=context.path_regex if convertors else None,
        convertors=convertors,
        converts=any(not isinstance(c, StringConvertor) for c in convertors.values()),
        route=context.original_route,
        handler=handler,
    )


def _refuse_shadowing(lane: Lane, earlier: list[Any]) -> None:
    sample = re.sub(r"{[^}]*}", "1", lane.path)
    for context in earlier:
        regex = getattr(context, "path_regex", None)
        methods = getattr(context, "methods", None)
        if regex is None or (methods and not lane.methods & set(methods)):
            continue
        if regex.match(sample):
            raise RuntimeError(
                f"{context.path_format} comes before the laned route {lane.path} and matches its requests"
            )


class FastLanes:
    """ASGI middleware answering the laned routes' requests before the framework's routing."""

    def __init__(self, app: ASGIApp, *, application: FastAPI) -> None:
        self.app = app
        # Built when the middleware stack is, at the application's first call (its start): after every
        # router was included.
        self.lanes = tuple(lanes_of(application))
        self.status_handlers: dict[int, Callable[..., Any]] = {}
        self.exception_handlers: dict[type[BaseException], Callable[..., Any]] = {}
        for key, handler in application.exception_handlers.items():
            # As Starlette's ExceptionMiddleware: 500 and Exception belong to the outermost error boundary.
            if isinstance(key, int):
                if key != 500:
                    self.status_handlers[key] = handler
            elif key is not Exception:
                self.exception_handlers[key] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            path = get_route_path(scope) if scope.get("root_path") else scope["path"]
            for lane in self.lanes:
                if method not in lane.methods or not path.startswith(lane.prefix):
                    continue
                if lane.regex is None:
                    if path != lane.prefix:
                        continue
                    params: dict[str, Any] = {}
                else:
                    match = lane.regex.match(path)
                    if match is None:
                        continue
                    params = match.groupdict()
                    if lane.converts:
                        params = {name: lane.convertors[name].convert(v) for name, v in params.items()}
                # Answer through the handler (its errors through the app's handlers), or let the route.
                scope["route"] = lane.route
                scope["path_params"] = params
                request = LaneRequest(scope, receive, send)
                try:
                    body = await lane.handler(request)
                except Exception as exc:
                    handler = self._handler_for(exc)
                    if handler is None:
                        raise
                    response = handler(request, exc)
                    if inspect.isawaitable(response):
                        response = await response
                    await response(scope, receive, send)
                    return
                if body is None:
                    break
                headers = [_JSON, (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Callable[..., Any] | None:
        """The application's handler for an exception, found as Starlette's ExceptionMiddleware finds it."""
        if isinstance(exc, HTTPException) and exc.status_code in self.status_handlers:
            return self.status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None
