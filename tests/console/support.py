"""Helpers of the console tests: operators, logging in through the page, screenshots for the docs."""

from __future__ import annotations

import itertools
from pathlib import Path

from playwright.async_api import Page

from app.core.auth import operators
from app.core.auth.deps import OperatorRole
from tests.helpers import PASSWORD

_seq = itertools.count(1)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


async def operator(*roles: str, username: str | None = None) -> str:
    """Create an operator with roles (default admin); returns the username (password `PASSWORD`)."""
    name = username or f"console-op-{next(_seq)}"
    await operators.create_operator(None, name, PASSWORD, [OperatorRole(r) for r in roles or ("admin",)])
    return name


async def login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the console's form and land on the home page."""
    await page.goto("/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("#login")
    await page.wait_for_url("**/console/")


async def screenshot(page: Page, name: str) -> None:
    """Save the page for README's console section (docs/console/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
