"""The hot-path shortcuts agree with what they shortcut: hiredis command packing with redis-py's own,
auto-pipelined script calls with direct ones. (The fast lanes and their routes: test_lane_parity.py.)"""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError, ResponseError

from app.core import redis_autopipeline
from app.core.redis_autopipeline import run_script
from app.core.redis_client import LuaScript, get_redis
from merchants.models import Category


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
