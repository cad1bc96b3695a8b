"""Which failures mean "a backing service is unreachable" (503, retry) rather than a bug (500).

The database (a dropped or terminated PostgreSQL connection, a refused connect, a locked SQLite file)
and Redis (a refused or reset connection, a replica that cannot take writes) come and go; a request
caught by that gets 503 `service.unavailable` with `Retry-After`, from the error boundary of
`RequestContextMiddleware`. Drivers and Tortoise wrap each other's errors, so the whole chain of causes
is examined.
"""

from __future__ import annotations

import socket
import sqlite3
from types import TracebackType

import asyncpg
import redis.exceptions as redis_errors
from asyncpg import exceptions as pg
from tortoise.exceptions import DBConnectionError

_PG_LOST: tuple[type[BaseException], ...] = (
    pg.PostgresConnectionError,  # class 08: connection lost, refused, failed
    pg.AdminShutdownError,  # pg_terminate_backend, a fast shutdown
    pg.CrashShutdownError,
)
_PG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    *_PG_LOST,
    pg.CannotConnectNowError,  # starting up, in recovery
    pg.InsufficientResourcesError,  # too many connections, out of memory or disk
    pg.ClientCannotConnectError,
    DBConnectionError,
)
# asyncpg reports a connection broken mid-protocol with these (InterfaceError, InternalClientError).
_PG_BROKEN = (
    "cannot switch to state",
    "another operation is in progress",
    "connection is closed",
    "connection was closed",
    "underlying connection is closed",
    "pool is closing",
)
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database file")
_SQLITE_UNAVAILABLE_IO = "disk i/o error"
_REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # refused, reset, loading
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,  # a replica during a failover
    redis_errors.MasterDownError,
)
_DRIVERS = ("/asyncpg/", "/aiosqlite/", "/tortoise/backends/")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes and contexts, each once."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += [a for a in current.args if isinstance(a, BaseException)]  # Tortoise wraps in args
    return seen


def _raised_by_driver(tb: TracebackType | None) -> bool:
    while tb is not None:
        if any(part in tb.tb_frame.f_code.co_filename for part in _DRIVERS):
            return True
        tb = tb.tb_next
    return False


def _pg_broken(error: BaseException) -> bool:
    if isinstance(error, asyncpg.InterfaceError | pg.InternalClientError):
        text = str(error)
        return any(part in text for part in _PG_BROKEN)
    return False


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` says a PostgreSQL connection died under us (its pool should be renewed)."""
    return any(isinstance(error, _PG_LOST) or _pg_broken(error) for error in _chain(exc))


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (rather than refusing a statement)."""
    for error in _chain(exc):
        if isinstance(error, _PG_UNAVAILABLE) or _pg_broken(error):
            return True
        if isinstance(error, sqlite3.OperationalError):
            text = str(error).lower()
            if text.startswith(_SQLITE_UNAVAILABLE) or _SQLITE_UNAVAILABLE_IO in text:
                return True
        if isinstance(error, OSError) and _raised_by_driver(error.__traceback__):
            return True  # a refused or timed-out connect (asyncio raises plain OSError for several hosts)
    return False


def unavailable_service(exc: BaseException) -> str | None:
    """`database`, `redis` or `upstream service` when `exc` means one is unreachable; None otherwise."""
    if database_unavailable(exc):
        return "database"
    chain = _chain(exc)
    if any(isinstance(error, _REDIS_UNAVAILABLE) for error in chain):
        return "redis"
    if any(isinstance(error, ConnectionError | socket.gaierror) for error in chain):
        return "upstream service"
    return None
