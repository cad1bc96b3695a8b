"""Login sessions: open, refresh (rotating), revoke; revocation is broadcast through Redis.

The database is the source of truth (`AuthSession.revoked_at`). Redis holds the revoked session ids
of the last access-token lifetime under one hash tag, and every process keeps a copy in memory,
refreshed by pub/sub, so checking a token costs no round trip. A process whose subscription is
down asks Redis directly; if Redis lost the keys, they are rebuilt from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from redis.exceptions import RedisError

from app.core.auth.tokens import (
    Audience,
    Principal,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)
from app.core.config import get_settings
from app.core.crypto import encrypt
from app.core.errors import Unauthorized
from app.core.models import AuthSession
from app.core.redis_client import channel, get_redis
from app.core.timeutil import utcnow

log = logging.getLogger("linli.auth")

CHANNEL = "auth:revoked"  # carries the deployment's namespace: `redis_client.channel(CHANNEL)`
LOADED_KEY = "{auth}:loaded"
REVOKED_PREFIX = "{auth}:sid:"


@dataclass
class TokenPair:
    """What a login or refresh returns to the client."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str


async def open_session(
    audience: Audience,
    principal_id: int,
    *,
    roles: tuple[str, ...] = (),
    merchant_id: int | None = None,
    secret: str | None = None,
) -> TokenPair:
    """Start a session and return its first token pair (`secret`, e.g. a session_key, is stored encrypted)."""
    settings = get_settings()
    session_id = str(uuid.uuid4())
    refresh, refresh_hash = new_refresh_token(session_id)
    await AuthSession.create(
        id=session_id,
        audience=audience.value,
        principal_id=principal_id,
        refresh_hash=refresh_hash,
        secret_enc=encrypt(secret) if secret else None,
        expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl),
    )
    principal = Principal(audience, principal_id, session_id, roles, merchant_id)
    access, ttl = issue_access_token(principal)
    return TokenPair(access, refresh, ttl, session_id)


async def rotate_refresh_token(audience: Audience, refresh_token: str) -> tuple[AuthSession, str]:
    """Swap a refresh token for a new one; reusing an old one revokes the whole session."""
    session_id = refresh_token.split(".", 1)[0]
    try:
        uuid.UUID(session_id)
    except ValueError:
        raise Unauthorized("refresh token invalid", code="auth.token_invalid") from None
    session = await AuthSession.get_or_none(id=session_id, audience=audience.value)
    if session is None or session.revoked_at is not None:
        raise Unauthorized("refresh token invalid", code="auth.token_invalid")
    if session.expires_at <= utcnow():
        raise Unauthorized("session expired", code="auth.token_expired")
    new_token, new_hash = new_refresh_token(session_id)
    swapped = await AuthSession.filter(
        id=session_id, refresh_hash=hash_refresh_token(refresh_token), revoked_at__isnull=True
    ).update(refresh_hash=new_hash)
    if not swapped:
        # A stolen-and-replayed refresh token: end the session for everyone holding it.
        await revoke_sessions([session_id])
        raise Unauthorized("refresh token reused; session revoked", code="auth.token_revoked")
    return session, new_token


async def refresh_session(
    audience: Audience,
    refresh_token: str,
    claims_for: Callable[[int], Awaitable[tuple[tuple[str, ...], int | None]]],
) -> TokenPair:
    """Rotate the refresh token and mint a new access token with the principal's current roles.

    `claims_for(principal_id)` returns (roles, merchant id) and raises 401 when the principal is gone.
    """
    session, new_refresh = await rotate_refresh_token(audience, refresh_token)
    roles, merchant_id = await claims_for(session.principal_id)
    principal = Principal(audience, session.principal_id, str(session.id), roles, merchant_id)
    access, ttl = issue_access_token(principal)
    return TokenPair(access, new_refresh, ttl, str(session.id))


async def revoke_sessions(session_ids: list[str]) -> None:
    """Revoke sessions now: their refresh tokens die in the database, their access tokens everywhere."""
    if not session_ids:
        return
    await AuthSession.filter(id__in=session_ids, revoked_at__isnull=True).update(revoked_at=utcnow())
    ttl = get_settings().access_token_ttl
    expires = time.time() + ttl
    for sid in session_ids:
        revocations.add(sid, expires)
    redis = get_redis()
    async with redis.pipeline(transaction=False) as pipe:
        for sid in session_ids:
            pipe.set(REVOKED_PREFIX + sid, int(expires), ex=ttl)
            pipe.publish(channel(CHANNEL), f"{sid} {int(expires)}")
        await pipe.execute()


async def revoke_principal(audience: Audience, principal_id: int) -> None:
    """Revoke every live session of a principal (password change, staff removal, deactivation)."""
    ids = await AuthSession.filter(
        audience=audience.value, principal_id=principal_id, revoked_at__isnull=True
    ).values_list("id", flat=True)
    await revoke_sessions([str(i) for i in ids])


class RevocationCache:
    """This process's copy of recently revoked session ids; only a cache of Redis and the database."""

    def __init__(self) -> None:
        self.revoked: dict[str, float] = {}
        self.synced = False

    def add(self, sid: str, expires: float) -> None:
        """Remember a revocation until the last token it could affect has expired."""
        self.revoked[sid] = expires

    def _prune(self) -> None:
        now = time.time()
        for sid in [s for s, exp in self.revoked.items() if exp < now]:
            del self.revoked[sid]

    async def is_revoked(self, sid: str) -> bool:
        """Whether the session was revoked; in memory when synced, else from Redis."""
        if sid in self.revoked:
            return True
        if self.synced:
            return False
        try:
            redis = get_redis()
            loaded, hit = await redis.mget(LOADED_KEY, REVOKED_PREFIX + sid)
            if loaded is None:
                await rebuild_from_database()
                hit = await redis.get(REVOKED_PREFIX + sid)
            return hit is not None
        except RedisError:
            # Fail closed only for what we know; the database check below is authoritative.
            return await AuthSession.filter(id=sid, revoked_at__isnull=False).exists()

    async def reload(self) -> None:
        """Replace the in-memory copy with Redis's (rebuilding Redis from the database if it was lost)."""
        redis = get_redis()
        if not await redis.exists(LOADED_KEY):
            await rebuild_from_database()
        fresh: dict[str, float] = {}
        async for raw_key in redis.scan_iter(match=REVOKED_PREFIX + "*", count=1000):
            k = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            fresh[k.removeprefix(REVOKED_PREFIX)] = time.time() + get_settings().access_token_ttl
        self._prune()
        self.revoked.update(fresh)

    async def follow(self, stop: asyncio.Event) -> None:
        """Keep the copy current via pub/sub until `stop`; fall back to Redis reads while disconnected."""
        while not stop.is_set():
            pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel(CHANNEL))
                await self.reload()
                self.synced = True
                last_reload = time.monotonic()
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        data = message["data"]
                        text = data.decode() if isinstance(data, bytes) else str(data)
                        sid, _, exp = text.partition(" ")
                        self.add(sid, float(exp or time.time() + get_settings().access_token_ttl))
                    if time.monotonic() - last_reload > 30:
                        await self.reload()
                        last_reload = time.monotonic()
            except (RedisError, OSError) as exc:
                self.synced = False
                log.warning("revocation feed interrupted: %r", exc)
                await asyncio.sleep(1)
            finally:
                self.synced = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]


async def rebuild_from_database() -> None:
    """Write the revocations of the last access-token lifetime back to Redis (after Redis lost them)."""
    ttl = get_settings().access_token_ttl
    since = utcnow() - timedelta(seconds=ttl)
    ids = await AuthSession.filter(revoked_at__gte=since).values_list("id", flat=True)
    redis = get_redis()
    expires = int(time.time()) + ttl
    async with redis.pipeline(transaction=False) as pipe:
        for sid in ids:
            pipe.set(REVOKED_PREFIX + str(sid), expires, ex=ttl)
        pipe.set(LOADED_KEY, 1)
        await pipe.execute()
    log.info("revocations rebuilt from database", extra={"count": len(ids)})


revocations = RevocationCache()
