"""The fast lanes agree with the routes they shortcut: the mechanism (answers, problems, bugs and
give-ups come out of a lane as out of its route; labels and request ids are the route's) and the nearby
lane's reading of queries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from app.core.errors import ProblemError, install_error_handlers
from app.core.fastlane import FastLanes, LaneRequest, fast_lane
from app.core.middleware import RequestContextMiddleware
from app.core.pagination import MAX_PAGE_SIZE, encode_cursor
from app.main import create_app
from merchants.models import Category
from miniprogram_api import nearby_lane
from miniprogram_api.stores import _parse_query
from tests.helpers import login_operator
from tests.merchants.support import CENTRE, active_merchant, create_branch, offset

NEARBY = "/mp/v1/stores/nearby"


@pytest.fixture(scope="session")
def laneless_app() -> FastAPI:
    """The production app without its fast lanes: every request goes through FastAPI's routing."""
    return create_app(manage_resources=False, fast_lanes=False)


@dataclass
class Answer:
    """What a client sees of a response, and which path produced it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    by_lane: bool  # the route was labelled (scope["route"]) but never dispatched to (no scope["endpoint"])


class Caller:
    """Sends requests to an app in-process from a chosen client address and records who answered."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.last_scope: Scope = {}

    async def _spy(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.last_scope = scope
        await self.app(scope, receive, send)

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str | bytes]] = (),
        ip: str = "127.0.0.1",
        body: bytes = b"",
        expect_error: bool = False,
    ) -> Answer:
        # Exceptions that escape the app fail the test; the error boundary answers 500 for the others,
        # and no request may end there unless the test means it to.
        transport = httpx.ASGITransport(app=self._spy, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.request(method, url, headers=list(headers), content=body)
        assert (response.status_code == 500) == expect_error, response.text
        scope = self.last_scope
        return Answer(
            response.status_code,
            sorted(
                (name, "<far future>" if name == "retry-after" and int(value) > 3600 else value)
                for name, value in response.headers.items()
            ),
            response.content,
            "route" in scope and "endpoint" not in scope,
        )


# -- nearby ----------------------------------------------------------------------------------------------


@pytest.fixture
async def nearby_world(client: httpx.AsyncClient) -> list[int]:
    """Stores of several categories at several distances from the centre, in the GEO index."""
    admin = await login_operator(client)
    await create_branch(client, admin)
    stores = []
    places = [(0, 0, "catering"), (120, 40, "retail"), (-300, 250, "catering"), (900, -700, "beauty")]
    places += [(2500, 100, "pharmacy"), (-40, -60, "catering")]  # metres north and east of the centre
    for n, (north, east, category) in enumerate(places):
        lat, lng = offset(*CENTRE, north_m=north, east_m=east)
        _, _, store_id = await active_merchant(
            client, admin, f"Store {n}", lat=lat, lng=lng, category=category
        )
        stores.append(store_id)
    return stores


def _coordinate(centre: float) -> st.SearchStrategy[object]:
    return st.one_of(
        st.floats(centre - 0.05, centre + 0.05),
        st.floats(centre - 0.05, centre + 0.05).map(lambda v: f"{v:.6f}"),
    )


VALID_NEARBY = st.fixed_dictionaries(
    {"lat": _coordinate(CENTRE[0]), "lng": _coordinate(CENTRE[1])},
    optional={
        "radius_m": st.one_of(st.sampled_from([1, 50, 500, 3000, 20_000]), st.integers(1, 20_000)),
        "category": st.sampled_from(list(Category)),
        "limit": st.integers(1, MAX_PAGE_SIZE),
        "cursor": st.integers(1, 1000).map(lambda o: encode_cursor({"o": o})),
        "unknown": st.just("ignored"),
    },
)
ANY_NEARBY = st.fixed_dictionaries(
    {},
    optional={
        "lat": st.one_of(
            _coordinate(CENTRE[0]), st.floats(-100, 100), st.sampled_from(["x", "", "1e1", "%2E"])
        ),
        "lng": st.one_of(_coordinate(CENTRE[1]), st.floats(60, 190), st.sampled_from(["", "nan", "inf"])),
        "radius_m": st.one_of(st.integers(-5, 60_000), st.sampled_from(["3000", "3e3", "1.5", " 9"])),
        "category": st.sampled_from([*Category, "casino", "", "Retail", "retail%20"]),
        "limit": st.one_of(st.integers(-1, 120), st.just("abc")),
        "cursor": st.sampled_from(["", "eyJvIjoyfQ", "eyJvIjowfQ", "garbage!", "eyJvIjoyMDAwfQ", "W10"]),
    },
)


@st.composite
def nearby_queries(draw: st.DrawFn) -> str:
    """A query string: mostly a valid query, sometimes anything; encoded, as typed, or with repeats."""
    values = draw(st.one_of(VALID_NEARBY, VALID_NEARBY, VALID_NEARBY, ANY_NEARBY))
    pairs = [(name, str(value)) for name, value in values.items()]
    if pairs and draw(st.booleans()):
        pairs.insert(0, (pairs[-1][0], draw(st.sampled_from(["1", "x", ""]))))  # repeated: the last wins
    if draw(st.booleans()):
        return urlencode(pairs)
    return "&".join(f"{name}={value}" for name, value in pairs)  # as typed: escapes stay escapes


async def test_nearby_through_the_lane_keeps_request_ids_metrics_and_problems(
    client: httpx.AsyncClient, nearby_world: list[int]
) -> None:
    answered = await client.get(
        NEARBY,
        params={"lat": CENTRE[0], "lng": CENTRE[1], "category": "catering", "radius_m": 500},
        headers={"X-Request-ID": "lane-1"},
    )
    assert answered.status_code == 200
    assert answered.headers["x-request-id"] == "lane-1"
    assert answered.headers["content-type"] == "application/json"
    assert [s["id"] for s in answered.json()["items"]] == [nearby_world[0], nearby_world[5], nearby_world[2]]
    rejected = await client.get(NEARBY, params={"lat": "north", "lng": CENTRE[1]})
    assert rejected.status_code == 422
    assert rejected.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in rejected.json()["errors"]] == ["lat"]
    metrics = (await client.get("/metrics")).text
    assert 'route="/mp/v1/stores/nearby",status="200"' in metrics
    assert 'route="/mp/v1/stores/nearby",status="422"' in metrics


# -- reading a query as the route does (no I/O: many examples) --------------------------------------------


def _request(query_string: bytes, cls: type[Request] = Request) -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": query_string, "headers": []}
    return cls(scope)


QUERY_CHARS = st.text(alphabet="ab=&%+2Fé;.-_ 0", max_size=30)


@settings(max_examples=300, deadline=None)
@given(QUERY_CHARS)
def test_the_lane_query_reader_matches_starlettes(text: str) -> None:
    raw = text.encode("latin-1", errors="ignore")
    request = _request(raw, LaneRequest)
    assert isinstance(request, LaneRequest)
    assert request.query_dict() == dict(_request(raw).query_params)
    assert request.query_dict() == dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def _route_reading(query_string: bytes) -> tuple[object, int] | None:
    """What the documented route makes of a query string: the query and offset, or None for a 422."""
    try:
        query = _parse_query(_request(query_string))
        return query, query.offset()
    except Exception:
        return None


@settings(max_examples=300, deadline=None)
@given(nearby_queries())
@example("lat=31.2&lng=121.4&category=retail&cursor=eyJvIjoyfQ")
@example("lat=31%2E2&lng=121.4&radius_m=500&limit=5")
def test_the_lane_reads_every_nearby_query_as_the_route_does(query: str) -> None:
    """Whatever the query, the lane either reads it exactly as the route does or leaves it to the route."""
    raw = query.encode()
    lane_request = _request(raw, LaneRequest)
    assert isinstance(lane_request, LaneRequest)
    assert nearby_lane.parse(lane_request.query_dict()) == _route_reading(raw)


# -- the mechanism ---------------------------------------------------------------------------------------


async def _asgi(app: Any, scope: Scope) -> tuple[int, bytes]:
    """Call an ASGI app with a bare scope (as a server would, root path included)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_lanes_match_behind_a_root_path(app: FastAPI, laneless_app: FastAPI) -> None:
    """Served under a root path (the path then carries it), the lane still matches as the router does."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "root_path": "/api",
        "path": f"/api{NEARBY}",
        "raw_path": f"/api{NEARBY}".encode(),
        "query_string": f"lat={CENTRE[0]}&lng={CENTRE[1]}".encode(),
        "headers": [(b"x-request-id", b"root-1")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    lane_scope, route_scope = dict(scope), dict(scope)
    assert (
        await _asgi(app, lane_scope)
        == await _asgi(laneless_app, route_scope)
        == (200, b'{"items":[],"next_cursor":null}')
    )
    assert "endpoint" not in lane_scope and "endpoint" in route_scope
    assert lane_scope["route"] is route_scope["route"]


class Teapot(ProblemError):
    status, code, title = 418, "teapot", "I am a teapot"


LANE_OUTCOMES: dict[str, Any] = {
    "answer": b'{"answered":true}',
    "give up": None,  # the route answers
    "problem": Teapot("short and stout", headers={"Retry-After": "3"}, spout="left"),
    "http error": HTTPException(404, "no such thing"),
    "bug": RuntimeError("a bug"),
}
TINY_STATUS = {"answer": 200, "give up": 200, "problem": 418, "http error": 404, "bug": 500}


def _tiny_app(*, lanes: bool, shadowed: bool = False) -> FastAPI:
    """An app with one laned route under a prefix, put together like the real one (error handlers,
    request context); its handler does what the `outcome` query parameter names."""

    async def handler(request: LaneRequest) -> bytes | None:
        outcome = LANE_OUTCOMES[request.query_dict()["outcome"]]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    router = APIRouter()
    if shadowed:

        @router.post("/things/{name}/grab")
        async def any_thing(name: str) -> dict[str, str]:
            return {"name": name}

    @router.post("/things/{thing_id}/grab")
    @fast_lane(handler)
    async def grab_thing(request: Request, thing_id: int) -> Response:
        body = await handler(LaneRequest(request.scope, request.receive))
        return Response(body or b'{"answered":"by the route"}', media_type="application/json")

    app = FastAPI()
    install_error_handlers(app)
    if lanes:
        app.add_middleware(FastLanes, application=app)
    app.add_middleware(RequestContextMiddleware, log_requests=False)
    app.include_router(router, prefix="/v1")
    return app


@pytest.mark.parametrize("outcome", list(LANE_OUTCOMES))
async def test_a_lane_answers_and_fails_as_its_route(outcome: str) -> None:
    """Answers, problems, HTTP errors and bugs come out of a lane exactly as out of its route."""
    url = "/v1/things/7/grab?" + urlencode({"outcome": outcome})
    headers = [("X-Request-ID", "tiny-1")]
    bug = outcome == "bug"
    lane = await Caller(_tiny_app(lanes=True)).send("POST", url, headers, expect_error=bug)
    route = await Caller(_tiny_app(lanes=False)).send("POST", url, headers, expect_error=bug)
    assert (lane.status, lane.headers, lane.body) == (route.status, route.headers, route.body)
    assert lane.by_lane == (outcome != "give up")
    assert (
        lane.status == {"answer": 200, "give up": 200, "problem": 418, "http error": 404, "bug": 500}[outcome]
    )


async def test_a_route_that_would_take_a_laned_routes_requests_stops_the_start() -> None:
    app = _tiny_app(lanes=True, shadowed=True)
    with pytest.raises(RuntimeError, match=re.escape("/v1/things/{name}/grab comes before the laned route")):
        await Caller(app).send("POST", "/v1/things/7/grab?outcome=answer")
