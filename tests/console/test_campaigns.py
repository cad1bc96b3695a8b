"""Console campaigns: a flash campaign with inline errors, four eyes, an auditor's writes refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.async_api import Page, expect

from app.core.models import AuditEntry
from app.core.timeutil import BUSINESS_TZ, utcnow
from campaigns.models import Campaign, CampaignStatus
from tests.campaigns import support as ch
from tests.console.support import operator, screenshot, sign_in


def local_input(delta: timedelta) -> str:
    """A `datetime-local` value `delta` from now, Beijing time."""
    return (utcnow() + delta).astimezone(BUSINESS_TZ).strftime("%Y-%m-%dT%H:%M")


async def fill_flash_form(page: Page, **values: str) -> None:
    """Fill the new flash campaign form (points reward unless told otherwise)."""
    fields = {
        "name": "10:00 latte flash sale",
        "starts_at": local_input(timedelta(days=1)),
        "ends_at": local_input(timedelta(days=1, hours=1)),
        "stock": "1000",
        "per_member_limit": "1",
        "price": "1.00",
        "reward_title": "Latte points",
        "reward_points": "100",
        "reward_value": "",
        "reward_cost": "0.50",
    } | values
    for name, value in fields.items():
        await page.fill(f"input[name={name}]", value)
    await page.select_option("select[name=reward_kind]", "points")


async def test_a_flash_campaign_refused_to_its_author_and_approved_by_another(page: Page) -> None:
    author = await operator("campaign_manager", "approver")
    approver = await operator("approver")
    await sign_in(page, author)
    await page.goto("/console/campaigns")
    await page.click("#new-campaign")
    # Invalid input comes back inline, in Chinese, with what was typed kept.
    await fill_flash_form(page, name="", price="1.234", stock="0")
    await page.click("#create")
    assert await page.inner_text("#error-price") == "请输入金额（元），最多两位小数"
    await page.fill("input[name=price]", "1.00")
    await page.click("#create")
    assert await page.inner_text("#error-name") == "至少 1 个字符"
    assert await page.inner_text("#error-stock") == "不能小于 1"
    assert await page.input_value("input[name=reward_title]") == "Latte points"
    await screenshot(page, "campaign-new")
    await page.fill("input[name=name]", "10:00 latte flash sale")
    await page.fill("input[name=stock]", "1000")
    await page.click("#create")
    await page.wait_for_selector("#submit")
    campaign = await Campaign.get(name="10:00 latte flash sale")
    assert campaign.config["price_fen"] == 100 and campaign.config["reward"]["cost_fen"] == 50
    await page.click("#submit")
    await page.wait_for_selector("#four-eyes")
    await page.click("#approve")
    assert "campaign.four_eyes" in await page.inner_text(".problem")
    await campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PENDING_APPROVAL

    await page.goto("/console/")
    await page.click("#logout")
    await sign_in(page, approver)
    await page.goto(f"/console/campaigns/{campaign.id}")
    assert await page.query_selector("#four-eyes") is None
    await screenshot(page, "campaign-approval")
    await page.click("#approve")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "已批准"
    entry = await AuditEntry.get(action="campaign.approve")
    assert entry.actor_type == "ops" and entry.target_id == str(campaign.id)
    # The filter updates the list in place (htmx): no page load, the address follows.
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto("/console/campaigns")
    await page.evaluate("() => { window.notReloaded = true; }")
    await page.select_option("select[name=type]", "lucky_draw")
    await page.click("form.filters button")
    await page.wait_for_url("**/console/campaigns?*type=lucky_draw*")
    await expect(page.locator("#campaigns")).to_contain_text("暂无数据")
    assert await page.evaluate("() => window.notReloaded === true")
    assert violations == []  # htmx runs under the CSP: no inline style, no eval
    await page.goto("/console/campaigns?status=&type=flash")
    assert "10:00 latte flash sale" in await page.inner_text("#campaigns")
    await screenshot(page, "campaigns")


async def test_an_auditor_sees_pages_but_writes_are_refused(page: Page) -> None:
    author = await operator("campaign_manager")
    auditor = await operator("auditor")
    await sign_in(page, author)
    await page.click("text=活动")
    await page.click("#new-campaign")
    await fill_flash_form(page)
    await page.click("#create")
    await page.click("#submit")
    await page.wait_for_selector(".notice")
    campaign_url = page.url.split("?")[0]
    await page.click("#logout")

    await sign_in(page, auditor)
    await page.goto(campaign_url)
    assert await page.inner_text("#status") == "待审批"
    assert await page.query_selector("#approve") is None
    assert await page.query_selector("#new-campaign") is None
    # The approve form posted anyway (a valid CSRF token, the wrong role): refused like the API refuses.
    status = await page.evaluate(
        """() => fetch(location.pathname + '/approve', {method: 'POST',
             body: new URLSearchParams({csrf_token: document.querySelector('input[name=csrf_token]').value})})
           .then(r => r.status)"""
    )
    assert status == 403
    await page.goto("/console/campaigns/new")
    assert "无权操作" in await page.inner_text(".problem")
    await page.goto("/console/merchants")
    assert "无权操作" in await page.inner_text(".problem")
    assert await AuditEntry.filter(action="campaign.approve").count() == 0


async def test_a_live_campaign_paused_resumed_and_ended_with_its_results(
    page: Page, client: httpx.AsyncClient
) -> None:
    campaign_id = await ch.live_flash(client, await ch.ops(client), stock=10)
    for _, headers in await ch.members(3):
        assert (await ch.grab(client, campaign_id, headers)).json()["outcome"] == "won"
    await ch.drain(campaign_id)
    await sign_in(page, await operator("campaign_manager"))
    await page.goto(f"/console/campaigns/{campaign_id}")
    assert "3" in await page.inner_text("#analytics")
    await page.click("#pause")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "已暂停"
    await page.click("#resume")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "进行中"
    await page.fill("#lifecycle input[name=reason]", "stock moved to the weekend")
    await page.click("#end")
    await page.wait_for_selector(".notice")
    assert await page.inner_text("#status") == "已结束"
    assert await page.query_selector("#lifecycle") is None
    actions = [e.action async for e in AuditEntry.filter(target_id=str(campaign_id)).order_by("id")]
    assert actions[-3:] == ["campaign.pause", "campaign.resume", "campaign.end"]


async def test_each_type_has_its_form_and_a_draft_is_edited(page: Page) -> None:
    await sign_in(page, await operator("campaign_manager"))
    await page.goto("/console/campaigns/new")
    for kind in ("flash", "spend_and_get", "multiplier", "checkin", "lucky_draw", "referral"):
        await page.click(f"#type-{kind}")
        assert await page.input_value("input[name=type]") == kind
    # A lucky draw whose chances add up to more than certainty: the model's rule, shown above the form.
    await page.click("#type-lucky_draw")
    await page.fill("input[name=name]", "Year-end draw")
    await page.fill("input[name=starts_at]", local_input(timedelta(days=2)))
    await page.fill("input[name=ends_at]", local_input(timedelta(days=9)))
    await page.fill("input[name=cost_points]", "50")
    for i, (name, ppm) in enumerate((("Coffee", "600000"), ("Cake", "500000"))):
        await page.fill(f"input[name=prize{i}_name]", name)
        await page.fill(f"input[name=prize{i}_ppm]", ppm)
        await page.fill(f"input[name=prize{i}_stock]", "10")
        await page.fill(f"input[name=prize{i}_reward_title]", f"{name} points")
        await page.fill(f"input[name=prize{i}_reward_points]", "100")
    await page.click("#create")
    assert "probabilities add up to more than 1,000,000 ppm" in await page.inner_text("#error-_form")
    await page.fill("input[name=prize1_ppm]", "0")
    await page.click("#create")
    assert await page.inner_text("#error-prize1_ppm") == "不能小于 1"
    await page.fill("input[name=prize1_ppm]", "100000")
    await page.check("input[name=tiers][value=gold]")
    await page.click("#create")
    await page.wait_for_selector(".notice")
    draw = await Campaign.get(name="Year-end draw")
    assert [p["probability_ppm"] for p in draw.config["prizes"]] == [600000, 100000]
    assert draw.audience["tiers"] == ["gold"]

    # Edited: the form comes back filled in; a stale copy of it is refused (the service's version check).
    await page.click("#edit")
    assert await page.input_value("input[name=prize0_name]") == "Coffee"
    assert await page.is_checked("input[name=tiers][value=gold]")
    stale = await page.context.new_page()
    await stale.goto(page.url)
    await page.fill("input[name=name]", "Year-end lucky draw")
    await page.click("#save")
    await page.wait_for_selector(".notice")
    await draw.refresh_from_db()
    assert (draw.name, draw.version) == ("Year-end lucky draw", 2)
    await stale.fill("input[name=cost_points]", "80")
    await stale.click("#save")
    assert (
        "campaign.version_conflict" in await stale.content() or await stale.locator(".problem").count() == 1
    )
    await draw.refresh_from_db()
    assert draw.config["cost_points"] == 50

    # Its audience list: two members added, one removed.
    (first, _), (second, _) = await ch.members(2)
    await page.goto(f"/console/campaigns/{draw.id}")
    await page.fill("textarea[name=member_ids]", f"{first}\n{second}")
    await page.click("#audience-submit")
    await page.wait_for_selector(".notice")
    assert "2" in await page.inner_text("#audience-list")
    await page.fill("textarea[name=member_ids]", str(first))
    await page.check("input[name=remove]")
    await page.click("#audience-submit")
    await page.wait_for_selector(".notice")
    assert "1" in await page.inner_text("#audience-list")
