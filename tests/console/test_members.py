"""Members in the console: lookup by phone (shown masked), a tag imported from CSV with its report, and
points credited once even when the form is sent twice."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page

from app.core.models import AuditEntry
from loyalty.models import Member
from tests.console.support import operator, screenshot, sign_in
from tests.helpers import login_member


async def test_lookup_tag_import_and_a_points_credit(
    page: Page, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    member = await login_member(client, "meimei")
    bound = await client.post("/mp/v1/me/phone", json={"code": "dev:13912345678"}, headers=member)
    assert bound.status_code == 200, bound.text
    member_id = (await Member.get(phone_hash__isnull=False)).id
    await sign_in(page, await operator())
    await page.goto("/console/members")
    await page.fill("#lookup", "13912345678")
    await page.click("#find")
    await page.wait_for_url(f"**/console/members/{member_id}")
    assert await page.inner_text("#phone") == "139****5678"
    assert "13912345678" not in await page.content()

    # Points credited; the same form sent again (a double click, a reload) posts once.
    await page.fill("input[name=points]", "200")
    await page.fill("input[name=reason]", "complaint 2026-118")
    form = await page.eval_on_selector("form.card", "f => Object.fromEntries(new FormData(f).entries())")
    await page.click("#grant")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#balance") == "200"
    status = await page.evaluate(
        "([url, body]) => fetch(url, {method: 'POST', body: new URLSearchParams(body)}).then(r => r.status)",
        [f"/console/members/{member_id}/points", form],
    )
    assert status == 200  # followed the redirect to the member page
    await page.reload()
    assert await page.inner_text("#balance") == "200"
    assert await AuditEntry.filter(action="points.grant").count() == 1
    await screenshot(page, "member")

    csv_file = tmp_path / "payroll.csv"
    csv_file.write_text(f"member_id\n{member_id}\n999999\n")
    await page.goto("/console/members/tags")
    await page.fill("input[name=tag]", "payroll")
    await page.set_input_files("input[name=file]", str(csv_file))
    await page.click("#import")
    assert await page.inner_text("#tagged") == "1"
    assert await page.inner_text("#unknown") == "1"
    assert "payroll" in await page.inner_text("#tags")
    await page.click("#remove-tag-payroll")
    await page.wait_for_selector(".notice")
    assert "payroll" not in await page.inner_text("#tags")
