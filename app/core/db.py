"""Database: Tortoise configuration, start-up, migrations and the service transaction helper."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as migrate_api
from tortoise.transactions import in_transaction

from app.core.config import Settings

log = logging.getLogger("linli.db")

# Every Tortoise app: label -> (models module, migrations package). Order is dependency order.
APPS: dict[str, tuple[str, str]] = {
    "core": ("app.core.models", "app.core.migrations"),
    "merchants": ("merchants.models", "merchants.migrations"),
    "loyalty": ("loyalty.models", "loyalty.migrations"),
    "campaigns": ("campaigns.models", "campaigns.migrations"),
    "billpay": ("miniprogram_api.billpay.models", "miniprogram_api.billpay.migrations"),
}

AfterCommit = Callable[[], Awaitable[None]]
_hooks: ContextVar[list[list[AfterCommit]] | None] = ContextVar("after_commit_hooks", default=None)


def _with_defaults(url: str, settings: Settings) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme.startswith("postgres"):
        query.setdefault("minsize", "1")
        query.setdefault("maxsize", str(settings.db_pool_max))
    elif parts.scheme == "sqlite":
        query.setdefault("busy_timeout", "10000")
        query.setdefault("synchronous", "NORMAL")
    return urlunsplit(parts._replace(query=urlencode(query)))


async def keep_session(connection: Any) -> None:
    """What the pool does to a released connection beyond rolling back an open transaction: nothing.

    asyncpg's default costs a round trip per release (`RESET ALL; UNLISTEN *; CLOSE ALL;` and the
    advisory locks), on every statement run outside a transaction. Linli keeps no session state: no
    SET, LISTEN, cursors or advisory locks; transaction-scoped settings die with their transaction.
    """


def _connection(db_url: str) -> str | dict[str, Any]:
    if not urlsplit(db_url).scheme.startswith("postgres"):
        return db_url
    config = expand_db_url(db_url)
    config["engine"] = "app.core.postgres_client"  # asyncpg, surviving a connection dead at BEGIN
    config["credentials"]["reset"] = keep_session
    return config


def tortoise_config(settings: Settings, url: str | None = None) -> dict[str, Any]:
    """The Tortoise configuration for every domain app."""
    db_url = _with_defaults(url or settings.resolved_database_url, settings)
    return {
        "connections": {"default": _connection(db_url)},
        "apps": {
            label: {"models": [models], "migrations": migrations, "default_connection": "default"}
            for label, (models, migrations) in APPS.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings, url: str | None = None) -> None:
    """Open the connection pool (call once per process)."""
    if settings.resolved_database_url.startswith("sqlite://"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    await Tortoise.init(config=tortoise_config(settings, url), _enable_global_fallback=True)


async def close_db() -> None:
    """Close every connection."""
    await Tortoise.close_connections()
    from tortoise import context

    # Allow a later init in the same process (tests, CLI commands run in sequence).
    context._global_context = None


async def migrate(settings: Settings, url: str | None = None) -> None:
    """Apply every pending migration of every app."""
    if settings.resolved_database_url.startswith("sqlite://"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    config = tortoise_config(settings, url)
    try:
        await migrate_api(config=config)
    finally:
        await close_db()


def db() -> BaseDBAsyncClient:
    """The current connection: the transaction's when inside one, else the pool."""
    client: BaseDBAsyncClient = connections.get("default")
    return client


def dialect() -> str:
    """`postgres` or `sqlite`."""
    return str(db().capabilities.dialect)


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """A service transaction; nests as a savepoint. Hooks registered inside run after the outermost commit."""
    frames = _hooks.get()
    token = None
    if frames is None:
        frames = [[]]  # frames[0] collects the hooks of every committed level
        token = _hooks.set(frames)
    frames.append([])
    try:
        async with in_transaction("default") as conn:
            yield conn
    except BaseException:
        frames.pop()  # a rolled-back level (or savepoint) drops its hooks
        if token is not None:
            _hooks.reset(token)
        raise
    frames[-2].extend(frames.pop())
    if token is None:
        return
    _hooks.reset(token)
    for hook in frames[0]:
        try:
            await hook()
        except Exception:
            # After commit nothing may undo the transaction; the outbox sweeper retries what failed here.
            log.exception("after-commit hook failed")


def in_service_transaction() -> bool:
    """Whether the caller runs inside `transaction()`."""
    return _hooks.get() is not None


def on_commit(hook: AfterCommit) -> bool:
    """Run `hook` after the enclosing `transaction()` commits; returns False when there is none."""
    frames = _hooks.get()
    if frames is None:
        return False
    frames[-1].append(hook)
    return True
