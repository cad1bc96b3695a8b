"""The fast lanes agree with the routes they shortcut.

Every laned route (grab, nearby) gets hypothesis-drawn requests, mostly valid ones, sent to the
production app and to the same app built without its lanes (`create_app(fast_lanes=False)`): the status,
the headers and the body must be the same, no request may end in a 500, and the lane must have answered
exactly the requests it is meant to answer (the others went on to the documented route). Grabs change
state, so each drawn sequence runs twice from the same Redis snapshot, once through each app.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from app.core.auth.sessions import revoke_sessions
from app.core.auth.tokens import Audience, Principal, issue_access_token
from app.core.config import get_settings
from app.core.errors import ProblemError, install_error_handlers
from app.core.fastlane import FastLanes, LaneRequest, fast_lane
from app.core.middleware import RequestContextMiddleware
from app.core.pagination import MAX_PAGE_SIZE, encode_cursor
from app.core.ratelimit import client_ip
from app.core.redis_client import get_redis
from app.main import create_app
from campaigns.flash.keys import k, lock_key
from campaigns.flash.runtime import runtime
from merchants.models import Category
from miniprogram_api import nearby_lane
from miniprogram_api.stores import _parse_query
from tests.campaigns import support as ch
from tests.helpers import login_operator
from tests.merchants.support import CENTRE, active_merchant, create_branch, offset

GRAB = "/mp/v1/campaigns/{}/grab"
NEARBY = "/mp/v1/stores/nearby"
RATE_LIMITED_IP = "10.9.9.9"
FAR_FUTURE_MS = 10**13  # a GCRA "theoretical arrival time" no grab reaches: always rate limited


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


# -- grab ------------------------------------------------------------------------------------------------


@dataclass
class GrabWorld:
    """Campaigns in every state a grab can meet, credentials of every kind, and the Redis they start from."""

    campaigns: dict[str, int]
    credentials: dict[str, list[tuple[str, str]]]
    snapshot: list[tuple[bytes, int, bytes]]


async def _settle() -> None:
    """Wait for the flash runtime's background work (sold-out winners, reloads) of the last requests."""
    while runtime._background:
        await asyncio.gather(*list(runtime._background), return_exceptions=True)


async def redis_snapshot() -> list[tuple[bytes, int, bytes]]:
    """Every key of the test database, dumped with its time to live."""
    redis = get_redis()
    out = []
    async for key in redis.scan_iter(count=1000):
        data, ttl = await redis.dump(key), await redis.pttl(key)
        if data is not None:
            out.append((key, max(ttl, 0), data))
    return out


async def redis_restore(snapshot: list[tuple[bytes, int, bytes]]) -> None:
    """Redis exactly as snapshotted, and a flash runtime that remembers nothing."""
    await _settle()
    redis = get_redis()
    await redis.flushdb()
    async with redis.pipeline(transaction=False) as pipe:
        for key, ttl, data in snapshot:
            pipe.restore(key, ttl, data)
        await pipe.execute()
    runtime.reset()


def _token(
    principal_id: int,
    audience: Audience = Audience.MEMBER,
    ttl: int | None = None,
    merchant_id: int | None = None,
) -> tuple[str, str]:
    """A signed access token and its session id."""
    sid = str(uuid.uuid4())
    token, _ = issue_access_token(Principal(audience, principal_id, sid, merchant_id=merchant_id), ttl)
    return token, sid


@pytest.fixture
async def grab_world(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> GrabWorld:
    # Rate limits far above what a drawn sequence sends, so being limited never depends on timing; one
    # member and one address are limited for good instead (their GCRA state is set in the far future).
    monkeypatch.setattr(get_settings(), "flash_member_rate", 1000)
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 1000)
    team = await ch.ops(client)
    (m0, h0), (m1, _), (m2, _), (m3, _) = await ch.members(4)
    campaigns = {
        "live": await ch.live_flash(client, team, stock=3, limit=2),
        "tiny": await ch.live_flash(client, team, stock=1),
        "gone": await ch.live_flash(client, team, stock=1),
        "later": await ch.live_flash(client, team, stock=5, starts_in=timedelta(hours=2)),
        "paused": await ch.live_flash(client, team, stock=5),
        "ended": await ch.live_flash(client, team, stock=5),
        "reloading": await ch.live_flash(client, team, stock=5),
        "draft": (await ch.create(client, team.author, ch.flash_body()))["id"],
    }
    listed = await ch.create(client, team.author, ch.flash_body(stock=5, audience={"member_list": True}))
    campaigns["listed"] = listed["id"]
    added = await client.post(
        f"/ops/v1/campaigns/{listed['id']}/audience-members", json={"member_ids": [m1]}, headers=team.author
    )
    assert added.status_code == 200, added.text
    for step, headers in (("submit", team.author), ("approve", team.approver), ("preheat", team.author)):
        response = await client.post(f"/ops/v1/campaigns/{listed['id']}/{step}", headers=headers)
        assert response.status_code == 200, response.text
    multiplier = await ch.approved(
        client,
        team,
        {
            "name": "double points",
            "starts_at": ch.iso(timedelta(minutes=-1)),
            "ends_at": ch.iso(timedelta(hours=1)),
            "config": {"type": "multiplier", "multiplier_percent": 200},
        },
    )
    campaigns["multiplier"] = multiplier["id"]
    for name, action, body in (("paused", "pause", None), ("ended", "end", {"reason": "recalled"})):
        response = await client.post(
            f"/ops/v1/campaigns/{campaigns[name]}/{action}", json=body, headers=team.author
        )
        assert response.status_code == 200, response.text
    won = await ch.grab(client, campaigns["gone"], h0, key="setup")  # sold out before any drawn grab
    assert won.json()["outcome"] == "won", won.text
    redis = get_redis()
    # Being rebuilt by another process: grabs get 503 until it is done (it holds the lock for an hour).
    await redis.hset(k(campaigns["reloading"], "meta"), "state", "rebuilding")
    await redis.set(lock_key(campaigns["reloading"]), "another-process", px=3_600_000)
    await redis.hset(k(campaigns["live"], "rate"), mapping={f"m:{m3}": FAR_FUTURE_MS})
    for cid in (campaigns["live"], campaigns["tiny"]):
        await redis.hset(k(cid, "rate"), mapping={f"ip:{RATE_LIMITED_IP}": FAR_FUTURE_MS})
    revoked, revoked_sid = _token(m2)
    await revoke_sessions([revoked_sid])
    tokens = {f"m{i}": _token(m)[0] for i, m in enumerate((m0, m1, m2, m3))}
    credentials: dict[str, list[tuple[str, str]]] = {
        name: [("Authorization", f"Bearer {token}")] for name, token in tokens.items()
    }
    credentials |= {
        "lowercase scheme": [("Authorization", f"bearer {tokens['m0']}")],
        "revoked": [("Authorization", f"Bearer {revoked}")],
        "expired": [("Authorization", f"Bearer {_token(m0, ttl=-60)[0]}")],
        "operator": list(team.author.items()),
        "staff": [("Authorization", f"Bearer {_token(m0, Audience.STAFF, merchant_id=1)[0]}")],
        "none": [],
        "empty": [("Authorization", "")],
        "scheme only": [("Authorization", "Bearer")],
        "basic": [("Authorization", "Basic bTA6cGFzcw==")],
        "forged": [("Authorization", "Bearer x.y.z")],
        "valid, then forged": [("Authorization", f"Bearer {tokens['m1']}"), ("Authorization", "Bearer x")],
        "forged, then valid": [("Authorization", "Bearer x"), ("Authorization", f"Bearer {tokens['m1']}")],
    }
    await _settle()
    return GrabWorld(campaigns, credentials, await redis_snapshot())


# Most grabs are well-formed: a valid member, a campaign that exists, no key or a good one.
CAMPAIGN_CHOICES = ["live"] * 5 + ["tiny"] * 3 + ["gone", "later", "paused", "ended", "listed"]
CAMPAIGN_CHOICES += ["reloading", "draft", "multiplier"]
ODD_IDS = {
    "missing": "999999",
    "zero": "0",
    "negative": "-7",
    "int64 max": str(2**63 - 1),
    "int64 max + 1": str(2**63),
    "twenty nines": "9" * 20,
    "thirty nines": "9" * 30,
    "letters": "grab",
    "arabic digit": quote("١"),
}
# The live campaign's id spelt otherwise: FastAPI reads each as the id, the lane reads only plain digits
# (leading zeros included) and leaves the others to the route.
SPELLINGS = {
    "leading zeros": "00{}",
    "plus sign": "+{}",
    "leading space": "%20{}",
    "underscore": "0_{}",
    "decimal": "{}.0",
}
CREDENTIALS = ["m0"] * 4 + ["m1"] * 3 + ["m2"] * 2 + ["m3", "lowercase scheme", "revoked", "expired"]
CREDENTIALS += ["operator", "staff", "none", "empty", "scheme only", "basic", "forged"]
CREDENTIALS += ["valid, then forged", "forged, then valid"]
DISTINCT_CREDENTIALS = list(dict.fromkeys(CREDENTIALS))
KEYS: list[list[tuple[str, str | bytes]]] = [[]] * 5 + [
    [("Idempotency-Key", "k1")],
    [("Idempotency-Key", "k1")],
    [("Idempotency-Key", "k2")],
    [("Idempotency-Key", "setup")],
    [("Idempotency-Key", "a b")],
    [("Idempotency-Key", "k" * 255)],
    [("Idempotency-Key", "k" * 256)],
    [("Idempotency-Key", "")],
    [("Idempotency-Key", b"caf\xe9")],
    [("Idempotency-Key", "tab\there")],
    [("Idempotency-Key", "k1"), ("Idempotency-Key", "k" * 256)],
]


@dataclass(frozen=True)
class Grab:
    """One drawn grab request."""

    method: str
    target: str
    spelling: str | None
    suffix: str
    credential: str
    key: int
    ip: str
    body: bytes

    def segment(self, world: GrabWorld) -> str:
        if self.target in ODD_IDS:
            return ODD_IDS[self.target]
        cid = world.campaigns[self.target]
        return SPELLINGS[self.spelling].format(cid) if self.spelling else str(cid)

    def laned(self, world: GrabWorld) -> bool:
        """Whether the lane answers it: a POST to the grab path with plain digits (at most 20) naming an
        `Id` (1..2**63-1); anything else is the route's to refuse."""
        segment = self.segment(world)
        plain = segment.isdigit() and len(segment) <= 20
        return self.method == "POST" and self.suffix == "/grab" and plain and 0 < int(segment) < 2**63


GRABS = st.builds(
    Grab,
    method=st.sampled_from(["POST"] * 12 + ["GET", "PUT"]),
    target=st.sampled_from(CAMPAIGN_CHOICES * 3 + list(ODD_IDS)),
    spelling=st.sampled_from([None] * 10 + list(SPELLINGS)),
    suffix=st.sampled_from(["/grab"] * 12 + ["/grab/", "/grab/x"]),
    credential=st.sampled_from(CREDENTIALS),
    key=st.integers(0, len(KEYS) - 1),
    ip=st.sampled_from(["127.0.0.1"] * 4 + ["10.0.0.2", RATE_LIMITED_IP]),
    body=st.sampled_from([b""] * 4 + [b'{"campaign_id": 1}', b"not json"]),
)


async def run_grabs(caller: Caller, world: GrabWorld, grabs: list[Grab]) -> list[Answer]:
    answers = []
    for n, grab in enumerate(grabs):
        url = "/mp/v1/campaigns/" + grab.segment(world) + grab.suffix
        headers = [*world.credentials[grab.credential], *KEYS[grab.key], ("X-Request-ID", f"parity-{n}")]
        answers.append(await caller.send(grab.method, url, headers, grab.ip, grab.body))
    return answers


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grabs=st.lists(GRABS, min_size=1, max_size=10))
@example(grabs=[Grab("POST", "live", None, "/grab", f"m{i % 3}", 0, "127.0.0.1", b"") for i in range(5)])
@example(grabs=[Grab("POST", t, None, "/grab", "m0", 0, "127.0.0.1", b"") for t in CAMPAIGN_CHOICES])
@example(grabs=[Grab("POST", "gone", None, "/grab", "m0", 8, "127.0.0.1", b"")])
@example(grabs=[Grab("POST", "live", None, "/grab", "m3", 0, "127.0.0.1", b"")])
@example(grabs=[Grab("POST", "tiny", None, "/grab", "m1", 0, RATE_LIMITED_IP, b"")])
@example(grabs=[Grab("POST", t, None, "/grab", "m0", 0, "127.0.0.1", b"") for t in ODD_IDS])
@example(grabs=[Grab("POST", "live", s, "/grab", "m1", 0, "127.0.0.1", b"") for s in SPELLINGS])
@example(grabs=[Grab("POST", "missing", None, "/grab", c, 0, "127.0.0.1", b"") for c in DISTINCT_CREDENTIALS])
@example(grabs=[Grab("POST", "live", None, "/grab", "m0", key, "127.0.0.1", b"") for key in range(len(KEYS))])
async def test_grab_lane_answers_as_the_route(
    app: FastAPI, laneless_app: FastAPI, grab_world: GrabWorld, grabs: list[Grab]
) -> None:
    await redis_restore(grab_world.snapshot)
    through_lane = await run_grabs(Caller(app), grab_world, grabs)
    await redis_restore(grab_world.snapshot)
    through_route = await run_grabs(Caller(laneless_app), grab_world, grabs)
    for grab, lane, route in zip(grabs, through_lane, through_route, strict=True):
        assert not route.by_lane
        assert lane.by_lane == grab.laned(grab_world), grab
        assert (lane.status, lane.headers, lane.body) == (route.status, route.headers, route.body), grab


async def test_every_grab_outcome_and_error_is_reached(
    app: FastAPI, laneless_app: FastAPI, grab_world: GrabWorld
) -> None:
    """The drawn requests can meet every answer: each is reached here through both apps alike."""
    world = grab_world

    def grab(target: str, credential: str = "m0", key: int = 0, ip: str = "127.0.0.1") -> Grab:
        return Grab("POST", target, None, "/grab", credential, key, ip, b"")

    grabs = [
        grab("live"),
        grab("live", "m3"),
        grab("live"),
        grab("live"),
        grab("live", "m1"),
        grab("live", "m2"),
        grab("gone", key=8),
        grab("gone"),
        grab("later"),
        grab("paused"),
        grab("ended"),
        grab("listed"),
        grab("listed", "m1"),
        grab("reloading"),
        grab("draft"),
        grab("multiplier"),
        grab("missing"),
        grab("int64 max + 1"),
        grab("tiny", ip=RATE_LIMITED_IP),
        grab("live", "none"),
        grab("live", "forged"),
        grab("live", "expired"),
        grab("live", "revoked"),
        grab("live", "operator"),
        grab("live", key=11),
        grab("letters"),
    ]
    await redis_restore(world.snapshot)
    through_lane = await run_grabs(Caller(app), world, grabs)
    await redis_restore(world.snapshot)
    through_route = await run_grabs(Caller(laneless_app), world, grabs)
    seen = []
    for lane, route in zip(through_lane, through_route, strict=True):
        assert (lane.status, lane.headers, lane.body) == (route.status, route.headers, route.body)
        body = json.loads(lane.body)
        seen.append(body.get("outcome") or body["code"])
    assert seen == [
        "won",
        "rate_limited",
        "won",
        "limit_reached",
        "won",
        "sold_out",
        "won",
        "sold_out",
        "not_started",
        "paused",
        "ended",
        "not_eligible",
        "won",
        "campaign.unavailable",
        "campaign.not_found",
        "campaign.not_found",
        "campaign.not_found",
        "validation_error",  # beyond int64: not an `Id`, the route's 422 names campaign_id
        "rate_limited",
        "auth.missing_token",
        "auth.token_invalid",
        "auth.token_expired",
        "auth.token_revoked",
        "auth.token_invalid",
        "validation_error",
        "validation_error",
    ]
    assert [a.by_lane for a in through_lane] == [True] * 17 + [False] + [True] * 7 + [False]


async def test_grabs_through_the_lane_are_labelled_with_the_route(
    client: httpx.AsyncClient, grab_world: GrabWorld
) -> None:
    cid = grab_world.campaigns["live"]
    token = dict(grab_world.credentials["m1"])
    won = await client.post(GRAB.format(cid), headers=token | {"X-Request-ID": "lane-7"})
    assert (won.status_code, won.json()["outcome"]) == (200, "won")
    assert won.headers["x-request-id"] == "lane-7"
    assert (await client.post(GRAB.format(cid))).status_code == 401
    metrics = (await client.get("/metrics")).text
    for status in (200, 401):
        assert f'route="/mp/v1/campaigns/{{campaign_id}}/grab",status="{status}"' in metrics


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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(queries=st.lists(nearby_queries(), min_size=1, max_size=4))
@example(queries=[f"lat={CENTRE[0]}&lng={CENTRE[1]}", f"lat={CENTRE[0]}&lng={CENTRE[1]}&limit=2"])
@example(queries=[f"lat={CENTRE[0]}&lng={CENTRE[1]}&limit=1&cursor={encode_cursor({'o': 3})}"])
@example(queries=[f"lat={CENTRE[0]}&lng={CENTRE[1]}&category=catering&radius_m=400"])
@example(queries=["lat=north&lng=121.4", "", "lat=31.2&lng=121.4&cursor=garbage!", "lat=31%2E2&lng=121.4"])
async def test_nearby_lane_answers_as_the_route(
    app: FastAPI, laneless_app: FastAPI, nearby_world: list[int], queries: list[str]
) -> None:
    for n, query in enumerate(queries):
        url = f"{NEARBY}?{query}" if query else NEARBY
        headers = [("X-Request-ID", f"nearby-{n}")]
        lane = await Caller(app).send("GET", url, headers)
        route = await Caller(laneless_app).send("GET", url, headers)
        assert not route.by_lane
        assert lane.by_lane == (lane.status == 200), query  # only what the route would answer with 200
        assert (lane.status, lane.headers, lane.body) == (route.status, route.headers, route.body), query


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


@pytest.mark.parametrize("client", [("10.1.2.3", 5000), ["::1", 0], None])
def test_a_lane_sees_the_client_address_the_routes_see(client: Any) -> None:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "client": client}
    assert LaneRequest(scope).client_ip == client_ip(Request(scope))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="0123456789+-_ .١x", max_size=24), st.integers(0, 10**30).map(str)))
@example("9" * 20)
@example("9" * 21)
@example("007")
def test_a_lane_reads_an_int_parameter_as_fastapi_or_not_at_all(text: str) -> None:
    """The lane reads plain digits exactly as FastAPI's `int` does, and leaves the rest to FastAPI."""
    request = LaneRequest({"type": "http", "path_params": {"id": text}})
    value = request.int_param("id")
    if text.isascii() and text.isdigit() and len(text) <= 20:
        assert value is not None and value == TypeAdapter(int).validate_python(text)
    else:
        assert value is None
    assert LaneRequest({"type": "http", "path_params": {"id": 42}}).int_param("id") == 42  # `{id:int}`
