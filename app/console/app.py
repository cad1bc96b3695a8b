"""The console application, mounted by `app.main.create_app` at `/console` (outside the OpenAPI document)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from app.console.deps import LoginRequired, screen_form
from app.console.headers import SecurityHeaders
from app.console.i18n import language_of
from app.console.pages import (
    auth,
    benefits,
    billpay,
    campaigns,
    grids,
    home,
    live,
    members,
    merchants,
    operations,
    settlement,
)
from app.console.rendering import render
from app.core.errors import ProblemError
from app.core.inputs import screen_request
from app.core.problem_i18n import translate

STATIC = Path(__file__).with_name("static")


async def _login_first(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/console/login", status_code=303)


def problem_page(
    request: Request, status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None
) -> Response:
    """A problem shown as a page: its title and detail in the page's language, its code for support."""
    title, detail = translate(language_of(request), status, code, title, detail, extra=extra)
    session = getattr(request.state, "console_session", None)
    context = {"problem": {"status": status, "code": code, "title": title, "detail": detail}}
    return render(request, "problem.html", context, session=session, status_code=status)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_page(request, exc.status, exc.code, exc.title, exc.detail, exc.extra)


async def _on_invalid(request: Request, exc: Exception) -> Response:
    return problem_page(request, 422, "validation_error", "Invalid input", "a field is invalid")


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem_page(request, 404, "not_found", "Not found", "no such page")
    if exc.status_code == 405:
        return problem_page(request, 405, "method_not_allowed", "Method not allowed", str(exc.detail))
    return problem_page(request, exc.status_code, "bad_request", "Bad request", str(exc.detail))


def build_console() -> FastAPI:
    """The console: pages, its static files, problems rendered as pages, security headers."""
    console = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # Strings the database cannot store are refused in the address and in forms, as on the API.
        dependencies=[Depends(screen_request), Depends(screen_form)],
    )
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        auth,
        home,
        grids,
        merchants,
        members,
        campaigns,
        live,
        benefits,
        billpay,
        settlement,
        operations,
    ):
        console.include_router(module.router)
    console.add_exception_handler(LoginRequired, _login_first)
    console.add_exception_handler(ProblemError, _on_problem)
    console.add_exception_handler(RequestValidationError, _on_invalid)
    console.add_exception_handler(HTTPException, _on_http)
    console.add_middleware(SecurityHeaders)
    return console
