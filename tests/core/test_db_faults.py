"""A database out of reach is 503 `service.unavailable` with Retry-After, never a 500, and the process
recovers by itself: on PostgreSQL by really terminating the server's backends (pg_terminate_backend),
on SQLite by another connection really holding the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg
import httpx
from fastapi import APIRouter, FastAPI
from tortoise.exceptions import OperationalError

from app.core.db import db, transaction
from app.core.faults import connection_lost, database_unavailable, unavailable_service
from app.core.redis_client import make_client
from app.main import create_app
from tests.conftest import _PG_URL, _SQLITE_FILE, BACKEND
from tests.core.test_errors import assert_problem
from tests.helpers import login_operator

PG_DSN = _PG_URL.replace("postgres://", "postgresql://", 1)
NO_OP_WRITE = "UPDATE core_outbox SET defer_seconds = 0 WHERE id = -1"  # takes SQLite's write lock


async def terminate(pid: int | None = None) -> int:
    """Terminate one backend, or every other backend of the test database, from a connection of our own;
    returns how many ended (each call waits until they are gone)."""
    conn = await asyncpg.connect(PG_DSN)
    try:
        if pid is not None:
            return 1 if await conn.fetchval("SELECT pg_terminate_backend($1, 5000)", pid) else 0
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(rows)
    finally:
        await conn.close()


def terminate_unnoticed() -> int:
    """Terminate every other backend while this event loop is blocked: the pool's connections are dead
    but not yet known to be (as when the server restarts between two requests of a busy process)."""
    ended: list[int] = []
    thread = threading.Thread(target=lambda: ended.append(asyncio.run(terminate())))
    thread.start()
    thread.join(timeout=30)
    assert ended, "could not terminate the backends"
    return ended[0]


@contextmanager
def sqlite_write_locked() -> Iterator[None]:
    """Another connection holds the SQLite write lock (a second process writing, for instance)."""
    other = sqlite3.connect(_SQLITE_FILE, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.rollback()
        other.close()


@asynccontextmanager
async def impatient_sqlite() -> AsyncIterator[None]:
    """The app's SQLite connection waits 50 ms for a lock instead of 10 s (the test need not wait)."""
    await db().execute_script("PRAGMA busy_timeout = 50")
    try:
        yield
    finally:
        await db().execute_script("PRAGMA busy_timeout = 10000")


def assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503, "service.unavailable")
    assert "database" in body["detail"]
    assert int(response.headers["retry-after"]) >= 1


async def test_connection_dying_under_a_request_is_503_and_the_next_request_works(
    client: httpx.AsyncClient,
) -> None:
    app: FastAPI = create_app(manage_resources=False)
    probe = APIRouter()

    @probe.post("/probe/write")
    async def write() -> dict[str, int]:
        async with transaction() as conn:
            if BACKEND == "postgres":
                # the server ends this very connection halfway through the transaction
                rows = await conn.execute_query_dict("SELECT pg_backend_pid() AS pid")
                assert await terminate(rows[0]["pid"]) == 1
                await conn.execute_query("SELECT 1")
            else:
                await conn.execute_query(NO_OP_WRITE)
        return {"ok": 1}

    app.include_router(probe)
    headers = await login_operator(client)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        if BACKEND == "postgres":
            assert_unavailable(await c.post("/probe/write"))
        else:
            async with impatient_sqlite():
                with sqlite_write_locked():
                    assert_unavailable(await c.post("/probe/write"))
                    assert_unavailable(await c.post("/mp/v1/auth/login", json={"code": "dev:locked"}))
                assert (await c.post("/probe/write")).status_code == 200
        # the pool gave up the dead connection: the next requests find a working one
        assert (await c.get("/ops/v1/operators", headers=headers)).status_code == 200
        assert (await c.post("/mp/v1/auth/login", json={"code": "dev:after"})).status_code == 200


async def test_after_every_backend_is_terminated_requests_succeed_or_get_503_never_500(
    client: httpx.AsyncClient,
) -> None:
    headers = await login_operator(client)
    statuses: list[int] = []

    async def burst() -> None:
        """A mix of reads outside transactions and writes inside them, concurrently."""
        answers = await asyncio.gather(
            *(client.get("/ops/v1/operators", headers=headers) for _ in range(4)),
            *(client.post("/mp/v1/auth/login", json={"code": f"dev:m{len(statuses)}-{i}"}) for i in range(2)),
        )
        for answer in answers:
            if answer.status_code == 503:
                assert_unavailable(answer)
            statuses.append(answer.status_code)

    for _ in range(3):
        await burst()  # the pool holds several connections now
        if BACKEND == "postgres":
            assert terminate_unnoticed() >= 1
            await burst()
        else:
            async with impatient_sqlite():
                with sqlite_write_locked():
                    await burst()
        # recovered: everything works again at once
        assert (await client.get("/ops/v1/operators", headers=headers)).status_code == 200
        assert (await client.post("/mp/v1/auth/login", json={"code": "dev:again"})).status_code == 200
    assert set(statuses) <= {200, 503}, statuses
    if BACKEND == "sqlite":
        assert 503 in statuses  # the writes met the lock


async def test_one_task_keeps_working_after_its_connection_died_at_begin() -> None:
    """A background loop runs transaction after transaction in one task: a transaction that cannot start
    (BEGIN on a dead connection) fails once, and the next one in the same task works (Tortoise's own
    context left the broken transaction installed as the task's connection, failing it forever)."""
    failures: list[bool] = []

    async def one_transaction() -> None:
        try:
            async with transaction() as conn:
                await conn.execute_query(NO_OP_WRITE)
            failures.append(False)
        except Exception as exc:
            assert database_unavailable(exc), repr(exc)
            failures.append(True)

    for round_ in range(20):
        async with transaction() as conn:
            await conn.execute_query("SELECT 1")
        if BACKEND == "postgres":
            terminate_unnoticed()
            await one_transaction()
        else:
            async with impatient_sqlite():
                with sqlite_write_locked():
                    await one_transaction()
        # whatever happened, the same task's next transaction works
        async with transaction() as conn:
            assert (await conn.execute_query_dict("SELECT 1 AS one"))[0]["one"] == 1, round_
    assert all(failures)  # the transaction met the dead connection (the lock) every time


async def test_the_classification_uses_real_driver_errors() -> None:
    # a refused connection (nothing listens on port 1)
    try:
        await asyncpg.connect("postgresql://postgres@127.0.0.1:1/none", timeout=5)
    except Exception as exc:
        assert database_unavailable(exc) and unavailable_service(exc) == "database"
    else:
        raise AssertionError("port 1 accepted a connection")
    # a statement the database refuses is a bug, not an outage
    try:
        await db().execute_query("SELECT no_such_column FROM core_outbox")
    except OperationalError as exc:
        assert not database_unavailable(exc) and unavailable_service(exc) is None
        assert not connection_lost(exc)
    else:
        raise AssertionError("the statement should fail")
    if BACKEND == "postgres":
        try:
            async with transaction() as conn:
                pid = (await conn.execute_query_dict("SELECT pg_backend_pid() AS pid"))[0]["pid"]
                await terminate(pid)
                await conn.execute_query("SELECT 1")
        except Exception as exc:
            assert connection_lost(exc) and database_unavailable(exc)
        else:
            raise AssertionError("the terminated connection answered")


async def test_redis_out_of_reach_is_503_too() -> None:
    """The same boundary for Redis: a refused connection (nothing listens on port 1) is 503."""
    app: FastAPI = create_app(manage_resources=False)
    probe = APIRouter()

    @probe.get("/probe/redis")
    async def unreachable() -> None:
        lost = make_client("redis://127.0.0.1:1/0")
        try:
            await lost.ping()
        finally:
            await lost.aclose()

    app.include_router(probe)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/probe/redis")
    body = assert_problem(response, 503, "service.unavailable")
    assert "redis" in body["detail"] and response.headers["retry-after"] == "1"
