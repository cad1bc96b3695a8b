"""Settlement in the console: a day's statements, confirmed, and the CSV downloaded by the browser."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
from playwright.async_api import Page

from app.core.db import transaction
from app.core.jobs import enqueue
from app.core.models import AuditEntry
from app.core.timeutil import business_day
from loyalty.settlement.tasks import build_settlement
from tests.console.support import operator, screenshot, sign_in
from tests.helpers import login_member, login_operator, run_jobs
from tests.loyalty.support import sale
from tests.merchants import support as merchants_support


async def a_settled_day(client: httpx.AsyncClient) -> None:
    """Two merchants whose member earned points today, and today's statements built."""
    ops = await login_operator(client, "grid_manager")
    await merchants_support.create_branch(client, ops)
    member = await login_member(client, "lili")
    await client.post("/mp/v1/me/join", json={"share_profile": True}, headers=member)
    for name, amount in (("Corner Coffee", 50_000), ("Noodles", 20_000)):
        owner, _, _ = await merchants_support.active_merchant(client, ops, name)
        response = await sale(client, owner, member, amount)
        assert response.status_code == 201, response.text
    async with transaction():
        await enqueue(build_settlement, business_day().isoformat())
    await run_jobs()


async def test_statements_confirmed_and_the_csv_downloaded(page: Page, client: httpx.AsyncClient) -> None:
    await a_settled_day(client)
    today = business_day().isoformat()
    await sign_in(page, await operator())
    # Today's figures on the home page: one member joined, two sales worth ¥700, their points.
    assert await page.inner_text("#fig-members_joined .n") == "1"
    assert await page.inner_text("#fig-sales .n") == "¥700.00"
    await screenshot(page, "home")
    await page.goto(f"/console/settlement?day={today}")
    rows = page.locator("#statements tbody tr")
    assert await rows.count() == 2
    assert "¥" in await page.inner_text("#statements tfoot")
    await page.locator("#statements button[id^=confirm-]").first.click()
    await page.wait_for_selector(".notice")
    assert await AuditEntry.filter(action="settlement.confirm").count() == 1
    await screenshot(page, "settlement")
    first_merchant = await page.locator("#statements tbody tr a").first.get_attribute("href")
    merchant_id = str(first_merchant).rsplit("/", 1)[1]
    await page.goto(f"/console/settlement?day={today}&merchant={merchant_id}")
    assert await page.locator("#statements tbody tr").count() == 1
    await page.goto(f"/console/settlement?day={today}")
    async with page.expect_download() as download_info:
        await page.click("#csv")
    download = await download_info.value
    assert download.suggested_filename == f"settlement-{today}.csv"
    text = Path(await download.path()).read_text(encoding="utf-8")
    rows_out = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["merchant_name"] for r in rows_out) == ["Corner Coffee", "Noodles"]
    assert sorted(r["status"] for r in rows_out) == ["confirmed", "draft"]


async def test_an_auditor_reads_statements_but_cannot_confirm(page: Page, client: httpx.AsyncClient) -> None:
    await a_settled_day(client)
    await sign_in(page, await operator("auditor"))
    await page.goto(f"/console/settlement?day={business_day().isoformat()}")
    assert await page.locator("#statements tbody tr").count() == 2
    assert await page.locator("#statements button").count() == 0
