"""Access tokens (signed JWT, short-lived) and refresh tokens (opaque, rotated, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt

from app.core.config import get_settings
from app.core.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "linli"


class Audience(StrEnum):
    """Who a token is for; a token of one audience is useless on another's routes."""

    MEMBER = "mp"
    STAFF = "merchant"
    OPERATOR = "ops"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    audience: Audience
    id: int
    session_id: str
    roles: tuple[str, ...] = ()
    merchant_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ref(self) -> str:
        """A stable text reference, e.g. `mp:42`, for scoping keys and audit."""
        return f"{self.audience.value}:{self.id}"


def issue_access_token(principal: Principal, ttl: int | None = None) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    settings = get_settings()
    lifetime = ttl or settings.access_token_ttl
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": principal.audience.value,
        "sub": str(principal.id),
        "sid": principal.session_id,
        "iat": now,
        "exp": now + lifetime,
    }
    if principal.roles:
        claims["roles"] = list(principal.roles)
    if principal.merchant_id is not None:
        claims["mch"] = principal.merchant_id
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM), lifetime


# Tokens verified by this process, until they expire: a member's repeated requests (a flash peak)
# skip the base64, HMAC and JSON work. Revocation is still checked on every request by the caller.
_VERIFIED_MAX = 50_000
_verified: dict[tuple[str, Audience], tuple[Principal, int]] = {}


def decode_access_token(token: str, audience: Audience) -> Principal:
    """Verify signature, expiry and audience; raise 401 otherwise."""
    cached = _verified.get((token, audience))
    if cached is not None:
        if cached[1] > time.time():
            return cached[0]
        del _verified[(token, audience)]
        raise Unauthorized("access token expired", code="auth.token_expired")
    try:
        claims = jwt.decode(
            token,
            get_settings().token_secret,
            algorithms=[ALGORITHM],
            audience=audience.value,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("access token expired", code="auth.token_expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("access token invalid", code="auth.token_invalid") from None
    principal = Principal(
        audience=audience,
        id=int(claims["sub"]),
        session_id=str(claims["sid"]),
        roles=tuple(claims.get("roles", ())),
        merchant_id=claims.get("mch"),
    )
    if len(_verified) >= _VERIFIED_MAX:
        _verified.pop(next(iter(_verified)))
    _verified[(token, audience)] = (principal, int(claims["exp"]))
    return principal


def new_refresh_token(session_id: str) -> tuple[str, str]:
    """A fresh refresh token for a session and the hash to store."""
    token = f"{session_id}.{secrets.token_urlsafe(32)}"
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token."""
    return hashlib.sha256(token.encode()).hexdigest()
