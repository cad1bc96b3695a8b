"""The hot-path shortcuts agree with what they shortcut: the nearby lane with the route, the fast query
parser with the standard library's, hiredis command packing with redis-py's own, auto-pipelined script
calls with direct ones."""

from __future__ import annotations

import asyncio
import enum
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError, ResponseError
from starlette.requests import Request

from app.core import redis_autopipeline
from app.core.pagination import encode_cursor
from app.core.redis_autopipeline import run_script
from app.core.redis_client import LuaScript, get_redis
from merchants.models import Category
from miniprogram_api.nearby_lane import parse, query_params
from miniprogram_api.stores import _parse_query
from tests.helpers import login_operator
from tests.merchants.support import CENTRE, active_merchant, create_branch, nearby_ids

QUERY_CHARS = st.text(alphabet="ab=&%+2Fé;.-_ 0", max_size=30)


@settings(max_examples=300, deadline=None)
@given(QUERY_CHARS)
def test_fast_query_parser_matches_parse_qsl(text: str) -> None:
    raw = text.encode("latin-1", errors="ignore")
    assert query_params(raw) == dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def _route_reading(query_string: bytes) -> tuple[object, int] | None:
    """What the documented route makes of a query string: the query and offset, or None for a 422."""
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": query_string, "headers": []}
    request = Request(scope)
    try:
        query = _parse_query(request)
        return query, query.offset()
    except Exception:
        return None


NEARBY_VALUES = {
    "lat": st.one_of(st.floats(-100, 100), st.sampled_from(["31.2", "x", "", "1e1", "31%2E2"])),
    "lng": st.one_of(st.floats(60, 190), st.sampled_from(["121.4", "", "nan"])),
    "radius_m": st.one_of(st.integers(-5, 60_000), st.sampled_from(["3000", "3e3", "1.5"])),
    "category": st.sampled_from([*Category, "casino", "", "Retail", "retail%20"]),
    "limit": st.one_of(st.integers(-1, 120), st.just("abc")),
    "cursor": st.one_of(
        st.sampled_from(["", "eyJvIjoyfQ", "eyJvIjowfQ", "garbage!", "eyJvIjoyMDAwfQ"]),  # unsigned: refused
        st.builds(lambda o: encode_cursor({"o": o}), st.integers(-2, 2000)),  # signed, in range or not
    ),
}


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional=NEARBY_VALUES), st.booleans())
@example({"lat": 31.2, "lng": 121.4, "category": Category.RETAIL, "cursor": "eyJvIjoyfQ"}, False)
@example({"lat": "31%2E2", "lng": 121.4, "radius_m": 500, "limit": 5}, False)
def test_lane_reads_every_query_as_the_route_does(values: dict[str, object], encode: bool) -> None:
    """Whatever the query, the lane either reads it exactly as the route does or leaves it to the route."""
    pairs = {k: str(v) for k, v in values.items()}
    if encode:
        query_string = urlencode(pairs).encode()
    else:  # as typed: percent escapes stay escapes
        query_string = "&".join(f"{k}={v}" for k, v in pairs.items()).encode()
    assert parse(query_string) == _route_reading(query_string)


async def test_lane_answers_keep_request_ids_metrics_and_problems(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    _, _, store_id = await active_merchant(client, admin)
    assert await nearby_ids(client, *CENTRE) == [store_id]
    answered = await client.get(
        "/mp/v1/stores/nearby",
        params={"lat": CENTRE[0], "lng": CENTRE[1], "category": "catering"},
        headers={"X-Request-ID": "lane-1"},
    )
    assert answered.status_code == 200
    assert answered.headers["x-request-id"] == "lane-1"
    assert answered.headers["content-type"] == "application/json"
    assert [s["id"] for s in answered.json()["items"]] == [store_id]
    rejected = await client.get("/mp/v1/stores/nearby", params={"lat": "north", "lng": CENTRE[1]})
    assert rejected.status_code == 422
    assert rejected.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in rejected.json()["errors"]] == ["lat"]
    metrics = (await client.get("/metrics")).text
    assert 'route="/mp/v1/stores/nearby",status="200"' in metrics
    assert 'route="/mp/v1/stores/nearby",status="422"' in metrics


class Colour(enum.StrEnum):
    RED = "red"


PACKABLE = st.one_of(
    st.text(max_size=20),
    st.binary(max_size=20),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from([Colour.RED, Category.RETAIL]),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["SET", "CONFIG GET", b"HSET", b"CLIENT LIST"]), st.lists(PACKABLE, max_size=6))
def test_hiredis_packing_matches_redis_py(name: str | bytes, args: list[object]) -> None:
    connection = get_redis().connection_pool.make_connection()
    command = (name, *args)
    assert b"".join(connection.pack_command(*command)) == b"".join(
        AbstractConnection.pack_command(connection, *command)  # type: ignore[arg-type]
    )


async def test_packing_refuses_what_redis_py_refuses() -> None:
    redis = get_redis()
    for bad in (True, None, [1]):
        with pytest.raises(DataError):
            await redis.set("k", bad)  # type: ignore[arg-type]
    await redis.set(Colour.RED, "é")
    assert await redis.get("red") == "é".encode()


ECHO = LuaScript(
    "if ARGV[1] == 'fail' then return redis.error_reply('ERR asked to fail') end return {KEYS[1], ARGV[1]}"
)


class CountingPipeline(redis_autopipeline.AutoPipeline):
    """The real auto-pipeline, recording the size of every batch it sends."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.batches: list[int] = []

    async def _send(self, batch: list[Any]) -> None:
        self.batches.append(len(batch))
        await super()._send(batch)


async def test_auto_pipelined_calls_share_round_trips_and_keep_their_own_answers() -> None:
    counting = redis_autopipeline._shared = CountingPipeline(get_redis())
    answers = await asyncio.gather(*(run_script(ECHO, [f"k{i}"], [str(i)]) for i in range(50)))
    assert answers == [[f"k{i}".encode(), str(i).encode()] for i in range(50)]
    assert counting.batches == [50]
    assert await run_script(ECHO, ["alone"], ["1"]) == [b"alone", b"1"]
    assert counting.batches == [50, 1]


async def test_auto_pipeline_reports_each_error_to_its_caller_only() -> None:
    results = await asyncio.gather(
        run_script(ECHO, ["a"], ["ok"]), run_script(ECHO, ["b"], ["fail"]), return_exceptions=True
    )
    assert results[0] == [b"a", b"ok"]
    assert isinstance(results[1], ResponseError) and "asked to fail" in str(results[1])


async def test_auto_pipeline_reloads_scripts_redis_forgot() -> None:
    await run_script(ECHO, ["a"], ["1"])
    await get_redis().script_flush()
    assert await asyncio.gather(run_script(ECHO, ["a"], ["2"]), run_script(ECHO, ["b"], ["3"])) == [
        [b"a", b"2"],
        [b"b", b"3"],
    ]


async def test_a_cancelled_caller_does_not_disturb_the_batch() -> None:
    doomed = asyncio.ensure_future(run_script(ECHO, ["x"], ["1"]))
    kept = asyncio.ensure_future(run_script(ECHO, ["y"], ["2"]))
    doomed.cancel()
    assert await kept == [b"y", b"2"]
    with pytest.raises(asyncio.CancelledError):
        await doomed


class GatedPipeline(CountingPipeline):
    """Holds its first batch until released, so calls can be made while it is surely in flight."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.release = asyncio.Event()

    async def _send(self, batch: list[Any]) -> None:
        if not self.batches:
            self.batches.append(len(batch))
            await self.release.wait()
            await redis_autopipeline.AutoPipeline._send(self, batch)
        else:
            await super()._send(batch)


async def test_calls_made_while_a_batch_is_in_flight_go_out_together_next() -> None:
    gated = redis_autopipeline._shared = GatedPipeline(get_redis())
    first = asyncio.gather(*(run_script(ECHO, [f"a{i}"], [str(i)]) for i in range(3)))
    await asyncio.sleep(0)  # the first batch is on its way
    later = [asyncio.ensure_future(run_script(ECHO, [f"b{i}"], [str(i)])) for i in range(20)]
    for _ in range(5):
        await asyncio.sleep(0)  # several loop turns pass while the first batch is out
        later.append(asyncio.ensure_future(run_script(ECHO, ["c"], ["x"])))
    await asyncio.sleep(0)
    gated.release.set()
    assert len(await first) == 3
    answers = await asyncio.gather(*later)
    assert [answer[0] for answer in answers] == [f"b{i}".encode() for i in range(20)] + [b"c"] * 5
    assert gated.batches == [3, 25]
    assert await run_script(ECHO, ["alone"], ["1"]) == [b"alone", b"1"]  # nothing in flight: at once
    assert gated.batches == [3, 25, 1]
