"""Merchant review from the console: the queue, approve and reject, the same audit records as /ops/v1."""

from __future__ import annotations

import httpx
from playwright.async_api import Page

from app.core.models import AuditEntry
from tests.console.support import operator, screenshot, sign_in
from tests.helpers import PASSWORD, bearer, login_operator
from tests.merchants.support import active_merchant, draft_merchant


async def submitted(client: httpx.AsyncClient, name: str) -> int:
    """A merchant whose complete application waits in the review queue."""
    owner, merchant_id = await draft_merchant(client, name)
    response = await client.post("/merchant/v1/application/submit", headers=owner)
    assert response.status_code == 200, response.text
    return merchant_id


async def audit_of(merchant_id: int) -> list[tuple[object, ...]]:
    """The operators' audit entries on a merchant without their ids, times and request ids."""
    rows = await AuditEntry.filter(
        target_type="merchant", target_id=str(merchant_id), actor_type="ops"
    ).order_by("id")
    return [(r.actor_type, r.actor_id, r.action, r.before, r.after) for r in rows]


async def test_an_application_approved_from_the_queue_is_audited_as_by_the_api(
    page: Page, client: httpx.AsyncClient
) -> None:
    username = await operator()
    by_console = await submitted(client, "Corner Coffee")
    by_api = await submitted(client, "Corner Coffee")
    await sign_in(page, username)
    assert await page.inner_text("#fig-merchants_submitted .n") == "2"
    await page.click("#fig-merchants_submitted")
    await page.wait_for_selector("#merchants")
    await screenshot(page, "merchant-queue")
    await page.click(f"#merchants a[href='/console/merchants/{by_console}']")
    await page.wait_for_selector("#approve")
    await screenshot(page, "merchant-application")
    await page.click("#approve")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "已启用"

    login_response = await client.post(
        "/ops/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    token = bearer(login_response.json()["access_token"])
    response = await client.post(f"/ops/v1/merchants/{by_api}/approve", headers=token)
    assert response.status_code == 200, response.text

    console_trail, api_trail = await audit_of(by_console), await audit_of(by_api)
    assert [a[2] for a in console_trail] == ["merchant.approve", "merchant.activate"]
    assert console_trail == api_trail


async def test_a_rejection_names_its_reason_and_a_second_review_shows_the_problem(
    page: Page, client: httpx.AsyncClient
) -> None:
    username = await operator()
    merchant_id = await submitted(client, "Noodle Bar")
    await sign_in(page, username)
    stale = await page.context.new_page()
    await stale.goto(f"/console/merchants/{merchant_id}")
    await page.goto(f"/console/merchants/{merchant_id}")
    await page.fill("input[name=reason]", "licence photo unreadable")
    await page.click("#reject")
    await page.wait_for_selector(".notice")
    assert "licence photo unreadable" in await page.inner_text("main")
    # A stale form (the page opened before the rejection) meets the service's transition rule.
    await stale.click("#approve")
    problem = await stale.inner_text(".problem")
    assert "状态不允许此操作" in problem


async def test_the_licence_suspension_and_a_pending_legal_change(
    page: Page, client: httpx.AsyncClient
) -> None:
    username = await operator()
    admin = await login_operator(client)
    owner, merchant_id, _ = await active_merchant(client, admin, "Tea House")
    edited = await client.patch("/merchant/v1/application", json={"legal_rep_name": "Li Lei"}, headers=owner)
    assert edited.status_code == 200, edited.text
    await sign_in(page, username)
    await page.goto(f"/console/merchants/{merchant_id}")
    assert await page.eval_on_selector("img.licence", "img => img.complete && img.naturalWidth > 0")
    assert "Li Lei" in await page.inner_text("#pending-change")
    await page.click("#approve-change")
    await page.wait_for_selector(".notice")
    assert "Li Lei" in await page.inner_text("dl.facts")
    await page.fill("input[name=earn_rate]", "150")
    await page.fill("input[name=point_value_fen]", "2")
    await page.click("#set-terms")
    await page.wait_for_selector(".notice")
    assert "150" in await page.inner_text("#terms") and "¥0.02" in await page.inner_text("#terms")
    assert "¥0.00" in await page.inner_text("#activity")
    await page.fill("input[name=reason]", "licence renewal")
    await page.click("#suspend")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "已暂停"
    await page.fill("input[name=reason]", "licence renewed")
    await page.click("#reactivate")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "已启用"
    actions = await AuditEntry.filter(target_type="merchant", target_id=str(merchant_id), actor_type="ops")
    assert {"merchant.suspend", "merchant.reactivate"} <= {a.action for a in actions}
