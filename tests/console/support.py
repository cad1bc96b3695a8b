"""Helpers of the console tests: operators, signing in (through the form, or bound directly to a fresh API
session where the form is not what a test is about), screenshots for the docs."""

from __future__ import annotations

import itertools
import os
import tempfile
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from playwright.async_api import Page

from app.console import session as console_session
from app.console.session import COOKIE
from app.core.auth.sessions import open_session
from app.core.auth.tokens import Audience, decode_access_token
from app.core.models import Operator
from tests.helpers import PASSWORD

_seq = itertools.count(1)
# The README's screenshots are rewritten only when asked (LINLI_CONSOLE_SCREENSHOTS=1): each run's pixels
# differ slightly, and a test run should not dirty the work tree.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "console"
    if os.environ.get("LINLI_CONSOLE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "linli-console-screenshots"
)
BASE_URL = {"value": ""}  # the test server's address, set by the `server` fixture


@cache
def _password_hash() -> str:
    # One argon2 hash of PASSWORD for every test operator: hashing costs 150 ms a time on this machine.
    return PasswordHasher().hash(PASSWORD)


async def operator(*roles: str, username: str | None = None) -> str:
    """An operator with roles (default admin) whose password is `PASSWORD`; returns the username."""
    name = username or f"console-op-{next(_seq)}"
    await Operator.create(username=name, password_hash=_password_hash(), roles=list(roles or ("admin",)))
    return name


async def login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the console's form and land on the home page."""
    await page.goto("/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("#login")
    await page.wait_for_url("**/console/")


async def sign_in(page: Page, username: str) -> None:
    """Give the browser a console cookie bound to a new API session of the operator, as the login does."""
    row = await Operator.get(username=username)
    pair = await open_session(Audience.OPERATOR, row.id, roles=tuple(row.roles))
    cookie = await console_session.bind(decode_access_token(pair.access_token, Audience.OPERATOR), username)
    await page.context.add_cookies(
        [
            {
                "name": COOKIE,
                "value": cookie,
                "url": f"{BASE_URL['value']}/console/",
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    await page.goto("/console/")


async def screenshot(page: Page, name: str) -> None:
    """Save the page for README's console section (docs/console/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
