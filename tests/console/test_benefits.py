"""Benefits in the console: a benefit created with inline errors, published, vouchers given once per form;
a merchant's proposal approved by an approver."""

from __future__ import annotations

import httpx
from playwright.async_api import Page

from loyalty.models import Benefit, BenefitStatus, Voucher
from tests.console.support import operator, screenshot, sign_in
from tests.loyalty.support import active_merchant, joined_member


async def test_a_benefit_created_published_and_given(page: Page, client: httpx.AsyncClient) -> None:
    (_, first), (_, second) = await joined_member(client), await joined_member(client)
    await sign_in(page, await operator("campaign_manager"))
    await page.goto("/console/benefits")
    await page.fill("input[name=name]", "¥5 off coffee")
    await page.fill("input[name=face_value]", "five")
    await page.click("#create-benefit")
    assert await page.inner_text("#error-face_value") == "请输入金额（元），最多两位小数"
    await page.fill("input[name=face_value]", "5")
    await page.fill("input[name=stock_total]", "100")
    await page.click("#create-benefit")
    await page.wait_for_selector(".notice")
    await page.click("#publish")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "上架中"
    benefit = await Benefit.get(name="¥5 off coffee")
    assert (benefit.face_value_fen, benefit.stock_left) == (500, 100)

    await page.fill("textarea[name=member_ids]", f"{first}, {second}")
    await page.fill("input[name=reason]", "service outage")
    form = await page.eval_on_selector("form.card", "f => Object.fromEntries(new FormData(f).entries())")
    await page.click("#grant")
    assert await page.inner_text("#granted") == "2"
    await page.evaluate(
        "([url, body]) => fetch(url, {method: 'POST', body: new URLSearchParams(body)})",
        [f"/console/benefits/{benefit.id}/grants", form],
    )
    assert await Voucher.filter(benefit_id=benefit.id).count() == 2
    await page.goto("/console/benefits")
    await screenshot(page, "benefits")


async def test_a_merchant_proposal_approved_by_an_approver(page: Page, client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    proposal = {
        "name": "Free cookie",
        "kind": "gift",
        "face_value_fen": 800,
        "valid_days": 14,
        "price_points": 100,
    }
    created = await client.post("/merchant/v1/benefits", json=proposal, headers=merchant)
    assert created.status_code == 201, created.text
    await sign_in(page, await operator("approver"))
    await page.goto("/console/benefits?status=pending_review")
    await page.click("#benefits a:text('Free cookie')")
    assert await page.query_selector("#publish") is None
    await page.click("#approve")
    await page.wait_for_selector(".notice")
    assert (await Benefit.get(id=created.json()["id"])).status == BenefitStatus.ACTIVE
