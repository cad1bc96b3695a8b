"""Jinja2 pages: the language, the signed-in operator and the CSRF token in every template's context."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.console.i18n import LANG_COOKIE, LANGUAGES, language_of, translator
from app.console.session import ConsoleSession
from app.core.timeutil import BUSINESS_TZ

TEMPLATES = Path(__file__).with_name("templates")


def yuan(fen: int | None) -> str:
    """Integer fen as ¥ with two decimals (`¥1,234.50`)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def local(at: datetime | None) -> str:
    """A UTC instant shown in Asia/Shanghai (`2026-12-05 18:30`)."""
    if at is None:
        return "—"
    return at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")


_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), enable_async=False
)
_env.filters["yuan"] = yuan
_env.filters["local"] = local


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    session: ConsoleSession | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page in the request's language."""
    language = language_of(request)
    page = _env.get_template(template).render(
        request=request,
        lang=language,
        _=translator(language),
        session=session,
        csrf=session.csrf if session else "",
        path=request.url.path,
        **(context or {}),
    )
    response = HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, language, max_age=365 * 86400, path="/console", samesite="strict", httponly=True
        )
    return response
