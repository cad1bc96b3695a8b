"""Console login and logout: the API's operator login, a cookie bound to its session."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.console import session as console_session
from app.console.deps import CsrfRefused, checked
from app.console.i18n import language_of
from app.console.rendering import render
from app.console.session import COOKIE, ConsoleSession, csrf_matches
from app.core.auth import operators
from app.core.auth.tokens import Audience, decode_access_token
from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.problem_i18n import translate

router = APIRouter()
LOGIN_COOKIE = "linli_console_login"  # double-submit CSRF token of the login form (no session yet)


def _cookie(response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=get_settings().is_production,
    )


def _login_page(request: Request, error: dict[str, str] | None = None, status_code: int = 200) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login.html", {"login_csrf": token, "error": error}, status_code=status_code)
    _cookie(response, LOGIN_COOKIE, token)
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The login form."""
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=256),
    csrf_token: str = Form("", max_length=128),
) -> Response:
    """Check the password with the API's operator login and bind a console cookie to its session."""
    if not csrf_matches(request.cookies.get(LOGIN_COOKIE, ""), csrf_token):
        raise CsrfRefused("the login form's CSRF token is missing or wrong; reload the page")
    try:
        pair = await operators.login(username, password)
    except ProblemError as exc:
        title, detail = translate(language_of(request), exc.status, exc.code, exc.title, exc.detail)
        return _login_page(request, {"title": title, "detail": detail}, status_code=exc.status)
    previous = request.cookies.get(COOKIE)
    if (old := await console_session.load(previous)) is not None and previous:
        await console_session.end(previous, old)  # one console session per browser: the old one ends
    principal = decode_access_token(pair.access_token, Audience.OPERATOR)
    cookie = await console_session.bind(principal, username)
    response = RedirectResponse("/console/", status_code=303)
    _cookie(response, COOKIE, cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request, session: ConsoleSession = Depends(checked)) -> Response:
    """End the session: the API session is revoked, the cookie forgotten."""
    await console_session.end(request.cookies[COOKIE], session)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
