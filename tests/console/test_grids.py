"""Branches and grids in the console: register with inline errors, the dashboard and its SVG drawing,
inactive merchants flagged, edit, assign an account manager."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.async_api import Page

from app.core.models import Operator
from app.core.timeutil import utcnow
from merchants.models import Branch, Merchant
from tests.console.support import operator, screenshot, sign_in
from tests.helpers import login_operator
from tests.merchants import support as ms


async def test_a_branch_registered_drawn_and_managed(page: Page, client: httpx.AsyncClient) -> None:
    await sign_in(page, await operator())
    await page.goto("/console/grids")
    await page.fill("form.card input[name=name]", "Harbour Road Branch")
    await page.fill("form.card input[name=lat]", "95")
    await page.fill("form.card input[name=lng]", str(ms.CENTRE[1]))
    await page.click("#create-branch")
    assert await page.locator("#error-lat").count() == 1
    await page.fill("form.card input[name=lat]", str(ms.CENTRE[0]))
    await page.click("#create-branch")
    await page.wait_for_selector(".notice")
    branch = await Branch.get(name="Harbour Road Branch")

    # Two merchants in the grid, one of them idle for 40 days.
    gm = await login_operator(client)
    _, busy, _ = await ms.active_merchant(
        client, gm, "Corner Coffee", **dict(zip(("lat", "lng"), ms.offset(*ms.CENTRE, 800, 300), strict=True))
    )
    _, idle, _ = await ms.active_merchant(
        client, gm, "Old Barber", **dict(zip(("lat", "lng"), ms.offset(*ms.CENTRE, -1200, -900), strict=True))
    )
    await Merchant.filter(id=idle).update(last_activity_at=utcnow() - timedelta(days=40))
    await page.reload()
    assert await page.inner_text("#fig-inactive .n") == "1"
    assert await page.locator("#grid-map circle.merchant").count() == 2
    assert await page.locator("#grid-map circle.merchant.inactive").count() == 1
    assert "不活跃" in await page.inner_text(f"#grid-merchants tr:has(a[href='/console/merchants/{idle}'])")
    assert "不活跃" not in await page.inner_text(
        f"#grid-merchants tr:has(a[href='/console/merchants/{busy}'])"
    )

    await page.goto(f"/console/merchants?status=active&grid={branch.id}")
    assert await page.locator("#merchants tbody tr").count() == 2
    await page.goto("/console/merchants?status=active&grid=999999")
    assert "暂无数据" in await page.inner_text("#merchants")
    await page.goto(f"/console/grids/{branch.id}")
    manager = await operator("grid_manager")
    manager_id = (await Operator.get(username=manager)).id
    await page.fill("input[name=operator_id]", str(manager_id))
    await page.click("#assign-manager")
    await page.wait_for_selector(".notice")
    assert manager in await page.inner_text("#managers")
    await page.click(f"#remove-manager-{manager_id}")
    await page.wait_for_selector(".notice")
    assert manager not in await page.inner_text("#managers")
    await page.fill("form.card input[name=radius_m]", "2500")
    await page.click("#update-branch")
    await page.wait_for_selector(".notice")
    await branch.refresh_from_db()
    assert branch.radius_m == 2500
    await screenshot(page, "grid")
