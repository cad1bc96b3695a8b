"""FastAPI dependencies that authenticate each audience and authorise operator roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.auth.sessions import revocations
from app.core.auth.tokens import Audience, Principal, decode_access_token
from app.core.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <access token>`")


class OperatorRole(StrEnum):
    """Bank operator roles."""

    ADMIN = "admin"
    GRID_MANAGER = "grid_manager"
    CAMPAIGN_MANAGER = "campaign_manager"
    APPROVER = "approver"
    AUDITOR = "auditor"


class StaffRole(StrEnum):
    """Merchant staff roles."""

    OWNER = "owner"
    MANAGER = "manager"
    CASHIER = "cashier"


async def _authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, audience: Audience
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("bearer token required", code="auth.missing_token")
    principal = decode_access_token(credentials.credentials, audience)
    if await revocations.is_revoked(principal.session_id):
        raise Unauthorized("session revoked", code="auth.token_revoked")
    request.state.principal = principal
    return principal


async def current_member(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """The member calling a `/mp/v1` route."""
    return await _authenticate(request, credentials, Audience.MEMBER)


async def optional_member(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal | None:
    """The member calling a `/mp/v1` route that anonymous callers may use too (None without a token).

    A token that is sent must be valid: a wrong, expired or revoked one is still 401, so a client
    never silently loses its identity.
    """
    if credentials is None:
        return None
    return await _authenticate(request, credentials, Audience.MEMBER)


async def current_staff(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """The merchant staff member calling a `/merchant/v1` route (carries the merchant id)."""
    principal = await _authenticate(request, credentials, Audience.STAFF)
    if principal.merchant_id is None:
        raise Unauthorized("token has no merchant", code="auth.token_invalid")
    return principal


async def current_operator(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """The bank operator calling a `/ops/v1` route."""
    return await _authenticate(request, credentials, Audience.OPERATOR)


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
ROLES_ATTR = "__linli_roles__"


def roles(*allowed: OperatorRole) -> Callable[[F], F]:
    """Declare which operator roles may call an ops endpoint (admin always may)."""

    def mark(fn: F) -> F:
        setattr(fn, ROLES_ATTR, frozenset(allowed) | {OperatorRole.ADMIN})
        return fn

    return mark


async def ops_guard(request: Request, operator: Principal = Depends(current_operator)) -> Principal:
    """Router-wide ops check: deny unless the endpoint declared roles and the operator has one."""
    route = request.scope.get("route")
    allowed: frozenset[str] | None = getattr(getattr(route, "endpoint", None), ROLES_ATTR, None)
    if allowed is None:
        raise Forbidden("endpoint declares no roles", code="auth.forbidden")
    if allowed != {"*"} and not allowed.intersection(operator.roles):
        raise Forbidden("your roles do not allow this", code="auth.forbidden")
    return operator


def any_operator(fn: F) -> F:
    """Mark an ops endpoint open to every authenticated operator (e.g. who am I, logout)."""
    setattr(fn, ROLES_ATTR, frozenset({"*"}))
    return fn


def require_staff_role(*allowed: StaffRole) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only staff with one of the given roles."""

    async def check(staff: Principal = Depends(current_staff)) -> Principal:
        if not set(allowed).intersection(staff.roles):
            raise Forbidden("your staff role does not allow this", code="auth.forbidden")
        return staff

    return check
