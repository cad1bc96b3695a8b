"""Operations pages: operators and roles (a role change or a new password ends console sessions), the
audit log with filters, dead jobs."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.async_api import Browser, Page

from app.core.models import AuditEntry, DeadJob, Operator
from app.core.timeutil import business_day
from loyalty.models import DailyRun
from tests.console.support import login, operator, screenshot, sign_in
from tests.helpers import PASSWORD, bearer, run_jobs


async def test_an_admin_adds_an_operator_and_a_role_change_ends_their_session(
    page: Page, browser: Browser, server: str
) -> None:
    admin = await operator()
    await sign_in(page, admin)
    await page.goto("/console/operators")
    await page.fill("form.card input[name=username]", "wang.approver")
    await page.fill("form.card input[name=password]", PASSWORD)
    await page.check("form.card input[value=approver]")
    await page.click("#create-operator")
    await page.wait_for_selector(".notice")
    created = await Operator.get(username="wang.approver")
    assert created.roles == ["approver"]
    await screenshot(page, "operators")

    other = await browser.new_context(base_url=server)
    try:
        their_page = await other.new_page()
        await login(their_page, "wang.approver")
        # The admin makes them an auditor as well: their console session ends at once.
        form = page.locator(f"#operator-{created.id}")
        await form.locator("input[value=auditor]").check()
        await form.locator("button").click()
        await page.wait_for_selector(".notice")
        await created.refresh_from_db()
        assert created.roles == ["approver", "auditor"]
        await their_page.goto("/console/")
        assert their_page.url.endswith("/console/login")
    finally:
        await other.close()

    await page.goto("/console/audit?action=operator.update")
    assert await page.locator("#audit tbody tr").count() == 1
    assert "auditor" in await page.inner_text("#audit")
    await page.goto("/console/audit")
    assert await page.locator("#audit tbody tr").count() == await AuditEntry.all().count()
    await screenshot(page, "audit-log")


async def test_a_new_password_ends_the_session(page: Page) -> None:
    username = await operator("auditor")
    await sign_in(page, username)
    await page.click("#who")
    await page.fill("input[name=current_password]", PASSWORD)
    await page.fill("input[name=new_password]", "another-long-passphrase")
    await page.click("#change-password")
    await page.wait_for_url("**/console/login")
    await page.goto("/console/")
    assert page.url.endswith("/console/login")
    await login(page, username, "another-long-passphrase")


async def test_dead_jobs_inspected_and_sent_again_as_by_the_api(
    page: Page, client: httpx.AsyncClient
) -> None:
    day = (business_day() - timedelta(days=1)).isoformat()
    by_console, by_api = [
        await DeadJob.create(
            job_id=f"outbox:{n}", job_name="loyalty.build_settlement", args=[day], tries=8, error="boom"
        )
        for n in (41, 42)
    ]
    username = await operator()
    await sign_in(page, username)
    await page.goto("/console/jobs/dead")
    await page.click(f"#dead-jobs a[href='/console/jobs/dead/{by_console.id}']")
    assert await page.inner_text("#error") == "boom"
    await page.click("#requeue")
    await page.wait_for_selector(".notice")
    token = (
        await client.post("/ops/v1/auth/login", json={"username": username, "password": PASSWORD})
    ).json()
    response = await client.post(
        f"/ops/v1/jobs/dead/{by_api.id}/requeue", headers=bearer(token["access_token"])
    )
    assert response.status_code == 202, response.text
    assert response.json()["job_name"] == "loyalty.build_settlement"
    await run_jobs()
    assert await DeadJob.all().count() == 0
    assert await DailyRun.filter(name="settlement", business_day=day).exists()
    entries = await AuditEntry.filter(action="job.requeue").order_by("target_id")
    assert [e.target_id for e in entries] == [str(by_console.id), str(by_api.id)]
    # The same record but for what differs by nature (which dead job, which outbox message).
    console_entry, api_entry = (
        (e.actor_type, e.actor_id, e.action, e.target_type, (e.before or {})["tries"], sorted(e.after or {}))
        for e in entries
    )
    assert console_entry == api_entry
    # Operators other than admins are refused, as by the API.
    await page.click("#logout")
    await sign_in(page, await operator("auditor"))
    await page.goto("/console/jobs/dead")
    assert "无权操作" in await page.inner_text(".problem")
