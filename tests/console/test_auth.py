"""Console sign-in: login and logout bound to a revocable API session, cookie flags, CSRF, headers."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page

from app.console.pages import auth as auth_page
from app.console.session import COOKIE
from app.core.config import Settings, get_settings
from app.core.models import AuthSession
from app.core.redis_client import get_redis
from tests.console.support import login, operator, screenshot


async def test_login_and_logout_with_an_http_only_cookie(page: Page) -> None:
    username = await operator()
    await page.goto("/console/")
    assert page.url.endswith("/console/login")
    await screenshot(page, "login")
    await login(page, username)
    assert username in await page.inner_text("#who")
    assert "今日概览" in await page.inner_text("main")
    # The session cookie is invisible to scripts and never sent cross-site.
    assert COOKIE not in await page.evaluate("document.cookie")
    cookie = next(c for c in await page.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    # It is bound to an API login session in the database.
    session = await AuthSession.get(audience="ops", revoked_at__isnull=True)
    await page.click("#logout")
    await page.wait_for_url("**/console/login")
    await session.refresh_from_db()
    assert session.revoked_at is not None
    await page.goto("/console/")
    assert page.url.endswith("/console/login")


async def test_a_wrong_password_shows_the_translated_problem(page: Page) -> None:
    username = await operator()
    await page.goto("/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "not-the-password")
    await page.click("#login")
    assert "登录失败" in await page.inner_text(".problem")
    await page.goto("/console/login?lang=en")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "not-the-password")
    await page.click("#login")
    assert "Authentication required" in await page.inner_text(".problem")


async def test_a_form_without_the_csrf_token_is_refused(page: Page, server: str) -> None:
    username = await operator()
    await login(page, username)
    # The logout form, posted by a script without its token: refused, and the session lives on.
    status = await page.evaluate(
        "fetch('/console/logout', {method: 'POST', body: new URLSearchParams({csrf_token: 'forged'})})"
        ".then(r => r.status)"
    )
    assert status == 403
    await page.goto("/console/")
    assert page.url.endswith("/console/")
    # A login form posted without the login page's token is refused as well.
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.post("/console/login", data={"username": username, "password": "x"})
    assert response.status_code == 403
    assert "console.csrf" in response.text


async def test_security_headers_and_no_outside_assets(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.get("/console/login")
        css = await client.get("/console/static/console.css")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert css.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text


async def test_idle_sessions_end_and_revoked_api_sessions_end_the_console(page: Page) -> None:
    username = await operator()
    await login(page, username)
    keys = [k async for k in get_redis().scan_iter(match="{console}:session:*")]
    assert len(keys) == 1
    assert 0 < await get_redis().ttl(keys[0]) <= get_settings().console_idle_timeout
    # Revoking the API session (e.g. a role change) ends the console session at once.
    from app.core.auth.sessions import revoke_sessions

    session = await AuthSession.get(audience="ops", revoked_at__isnull=True)
    await revoke_sessions([str(session.id)])
    await page.goto("/console/")
    assert page.url.endswith("/console/login")
    # And the binding expires with the idle timeout: a second login, its key gone, is logged out.
    await login(page, username)
    keys = [k async for k in get_redis().scan_iter(match="{console}:session:*")]
    await get_redis().delete(*keys)
    await page.goto("/console/")
    assert page.url.endswith("/console/login")


async def test_cookies_are_secure_in_production(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = Settings(
        env="production",
        token_secret="t" * 32,
        qr_secret="q" * 32,
        data_key=get_settings().data_key,
        database_url="postgres://db/linli",
        redis_url="redis://redis:6379/0",
    )
    monkeypatch.setattr(auth_page, "get_settings", lambda: production)
    response = await client.get("/console/login")
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


async def test_strings_the_database_cannot_store_are_refused(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        form = await client.get("/console/login")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = await client.post(
            "/console/login", data={"username": "admin\x00", "password": "x", "csrf_token": token}
        )
    assert response.status_code == 422
    assert "username" in response.text and "validation_error" in response.text
