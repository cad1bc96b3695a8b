"""Job worker heartbeats: each worker writes when its loop last ran, ops read it in `/readyz`.

Every worker (`linli worker`, or the one embedded in an API process) writes a key of its own every
`INTERVAL` seconds with an expiry of `TTL`: a worker that died or lost Redis disappears by itself. The
key holds when the worker last ticked, when its arq loop last polled the queue (a loop stuck or
restarting shows an old `last_poll` next to a fresh `last_tick`) and its job counters. An index (a
sorted set by last tick) lists them without scanning the keyspace. All keys share one hash tag.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis.asyncio import Redis

INTERVAL = 2.0  # seconds between two heartbeats of one worker
TTL = 15  # seconds a heartbeat outlives its worker
INDEX = "{workers}:index"
_FORGET_AFTER = 3600  # seconds before a silent worker leaves the index


def worker_key(name: str) -> str:
    """The heartbeat key of one worker."""
    return f"{{workers}}:{name}"


async def beat(redis: Redis, name: str, status: dict[str, Any]) -> None:
    """Record that worker `name` is alive now, with its status."""
    now = time.time()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(worker_key(name), json.dumps(status | {"name": name, "last_tick": now}), ex=TTL)
        pipe.zadd(INDEX, {name: now})
        pipe.zremrangebyscore(INDEX, 0, now - _FORGET_AFTER)
        await pipe.execute()


async def live_workers(redis: Redis) -> list[dict[str, Any]]:
    """The workers whose heartbeat has not expired, each with `age_s` (seconds since its last tick) and
    `poll_age_s` (seconds since its arq loop last polled the queue)."""
    now = time.time()
    names = [
        n.decode() if isinstance(n, bytes) else str(n)
        for n in await redis.zrangebyscore(INDEX, now - TTL, "+inf")
    ]
    if not names:
        return []
    workers = []
    for raw in await redis.mget([worker_key(n) for n in names]):
        if raw is None:
            continue
        status: dict[str, Any] = json.loads(raw)
        status["age_s"] = round(max(0.0, now - float(status["last_tick"])), 1)
        last_poll = status.get("last_poll")
        status["poll_age_s"] = None if last_poll is None else round(max(0.0, now - float(last_poll)), 1)
        workers.append(status)
    return sorted(workers, key=lambda w: str(w["name"]))
