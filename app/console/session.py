"""Console sign-in: an HttpOnly cookie naming a Redis record bound to an operator's API login session.

The login session is the API's (`app.core.auth.sessions`: a database row, revocable, broadcast); Redis
holds the cookie's binding with the idle timeout as its TTL, refreshed on every request, and the CSRF
token. Nothing lives in one process's memory, so any API process can serve any console request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from app.core import queries
from app.core.auth.sessions import revocations, revoke_sessions
from app.core.auth.tokens import Audience, Principal
from app.core.config import get_settings
from app.core.redis_client import get_redis

COOKIE = "linli_console"
PREFIX = "{console}:session:"


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in console user: the API principal, their username and the session's CSRF token."""

    principal: Principal
    username: str
    csrf: str

    def can(self, allowed: frozenset[str]) -> bool:
        """Whether one of the operator's roles is in `allowed` (`*`: any operator)."""
        return allowed == {"*"} or bool(allowed.intersection(self.principal.roles))


def _key(cookie: str) -> str:
    return PREFIX + hashlib.sha256(cookie.encode()).hexdigest()


async def bind(principal: Principal, username: str) -> str:
    """Bind a new cookie value to an API login session; returns the cookie value."""
    cookie = secrets.token_urlsafe(32)
    record = {
        "sid": principal.session_id,
        "operator_id": principal.id,
        "roles": list(principal.roles),
        "username": username,
        "csrf": secrets.token_urlsafe(32),
    }
    await get_redis().set(_key(cookie), json.dumps(record), ex=get_settings().console_idle_timeout)
    return cookie


async def load(cookie: str | None) -> ConsoleSession | None:
    """The session a cookie names, if alive; each use restarts the idle timeout."""
    if not cookie or len(cookie) > 128:
        return None
    redis = get_redis()
    raw = await redis.get(_key(cookie))
    if raw is None:
        return None
    record = json.loads(raw)
    sid = str(record["sid"])
    # The API session is the source of truth: logged out, revoked (role change, deactivation) or expired
    # there means out here too.
    if await revocations.is_revoked(sid) or not await queries.session_alive(sid, Audience.OPERATOR.value):
        await redis.delete(_key(cookie))
        return None
    await redis.expire(_key(cookie), get_settings().console_idle_timeout)
    principal = Principal(Audience.OPERATOR, int(record["operator_id"]), sid, tuple(record["roles"]))
    return ConsoleSession(principal, str(record["username"]), str(record["csrf"]))


async def end(cookie: str, session: ConsoleSession) -> None:
    """Log out: the API session is revoked and the cookie's binding deleted."""
    await revoke_sessions([session.principal.session_id])
    await get_redis().delete(_key(cookie))


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
