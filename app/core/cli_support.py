"""Running one command-line action with the stores open: the database, and Redis when asked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.core.config import Settings
from app.core.db import close_db, init_db
from app.core.redis_client import close_redis, init_redis


async def with_stores(settings: Settings, fn: Callable[[], Awaitable[int]], *, redis: bool = False) -> int:
    """Open the database (and Redis), run `fn`, close them again; `fn`'s exit code."""
    await init_db(settings)
    try:
        if redis:
            await init_redis(settings)
        return await fn()
    finally:
        if redis:
            await close_redis()
        await close_db()
