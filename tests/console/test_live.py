"""The live flash view: server-sent events behind the console cookie move the chart while members grab."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.campaigns import support as ch
from tests.console.support import operator, screenshot, sign_in


async def test_the_live_view_moves_while_a_script_grabs(page: Page, client: httpx.AsyncClient) -> None:
    campaign_id = await ch.live_flash(client, await ch.ops(client), stock=20, limit=1)
    await sign_in(page, await operator("campaign_manager"))
    await page.goto(f"/console/campaigns/{campaign_id}/live")
    await expect(page.locator("#at")).not_to_have_text("—")
    await expect(page.locator("#left")).to_have_text("20")
    for _, headers in await ch.members(5):
        response = await ch.grab(client, campaign_id, headers)
        assert response.json()["outcome"] == "won", response.text
    await expect(page.locator("#left")).to_have_text("15")
    await expect(page.locator("#issued")).to_have_text("5")
    await expect(page.locator("#state")).to_have_text("抢购中")
    heights = await page.eval_on_selector_all(
        "#grabs-chart rect.bar", "bars => bars.map(b => Number(b.getAttribute('height')))"
    )
    assert max(heights) > 0
    await screenshot(page, "live-flash")
    # The home page lists it with the stock the engine holds.
    await page.goto("/console/")
    assert "15 / 20" in await page.inner_text("#live-flash")


async def test_the_event_stream_needs_the_console_cookie(server: str, client: httpx.AsyncClient) -> None:
    campaign_id = await ch.live_flash(client, await ch.ops(client), stock=5)
    async with httpx.AsyncClient(base_url=server) as anonymous:
        response = await anonymous.get(f"/console/campaigns/{campaign_id}/live/events")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
