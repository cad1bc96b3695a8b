"""Console fixtures: a real uvicorn server on a free port (in the tests' event loop, sharing their database
and Redis) and one headless Chromium for the whole session."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.console import support

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
async def server(app: FastAPI) -> AsyncIterator[str]:
    """The application served over HTTP by uvicorn; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:  # noqa: ASYNC110 - uvicorn exposes no event for this
        await asyncio.sleep(0.02)
    support.BASE_URL["value"] = f"http://127.0.0.1:{port}"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium (the Debian package) for every console test."""
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield instance
        await instance.close()


@pytest.fixture
async def context(browser: Browser, server: str) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test."""
    ctx = await browser.new_context(base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 800})
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    """A tab of the test's browser profile."""
    tab = await context.new_page()
    tab.set_default_timeout(10_000)
    return tab
