"""What every console page needs: the signed-in operator, the CSRF check, the ops endpoints' roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from app.console.session import COOKIE, ConsoleSession, csrf_matches, load
from app.core.auth.deps import ROLES_ATTR
from app.core.errors import Forbidden, InvalidField
from app.core.inputs import unstorable

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No live console session: the page redirects to the login form."""


class CsrfRefused(Forbidden):
    """A state change without the session's CSRF token (a forged or stale form)."""

    code, title = "console.csrf", "CSRF check failed"


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def screen_form(request: Request) -> None:
    """Refuse form fields the database cannot store (NUL, lone surrogates), as the API refuses them in
    JSON (`app.core.inputs.screen_request`), before any page reads them."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return
    form = await request.form()
    for name, value in form.multi_items():
        reason = unstorable(name) or (unstorable(value) if isinstance(value, str) else None)
        if reason is not None:
            raise InvalidField(name.replace("\x00", "\\u0000"), reason)


async def signed_in(request: Request) -> ConsoleSession:
    """The operator behind the console cookie (else the login page)."""
    session = await load(request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired
    request.state.console_session = session
    return session


async def checked(request: Request) -> ConsoleSession:
    """A signed-in operator whose form (or `X-CSRF-Token` header) carries this session's CSRF token."""
    session = await signed_in(request)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_matches(session.csrf, given):
        raise CsrfRefused("the form's CSRF token is missing or wrong; reload the page")
    return session


def roles_of(endpoint: Callable[..., Awaitable[Any]]) -> frozenset[str]:
    """The roles an `/ops/v1` endpoint admits (its `@roles` declaration, admin included)."""
    allowed: frozenset[str] | None = getattr(endpoint, ROLES_ATTR, None)
    if allowed is None:
        raise RuntimeError(f"{endpoint.__qualname__} declares no roles")
    return allowed


def require(session: ConsoleSession, endpoint: Callable[..., Awaitable[Any]]) -> None:
    """Refuse unless the operator may call the `/ops/v1` endpoint doing the same thing."""
    if not session.can(roles_of(endpoint)):
        raise Forbidden("your roles do not allow this", code="auth.forbidden")
