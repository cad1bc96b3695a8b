"""Bill payment in the console: billers, orders by state, a day reconciled and a mismatch resolved."""

from __future__ import annotations

import httpx
from playwright.async_api import Page

from app.core.models import AuditEntry
from app.core.timeutil import business_day
from miniprogram_api.billpay.models import Biller, SimBillerPayment
from tests.billpay.support import make_biller, member, paid_order, state_of
from tests.billpay.support import quick_billpay_jobs as quick_billpay_jobs  # autouse fixture
from tests.console.support import operator, screenshot, sign_in
from tests.helpers import login_operator, run_jobs


async def test_a_day_reconciled_and_a_mismatch_resolved(page: Page, client: httpx.AsyncClient) -> None:
    biller = await make_biller(client, await login_operator(client))
    alice, _ = await member(client)
    await paid_order(client, alice, biller["id"], "3100000001")
    lost = await paid_order(client, alice, biller["id"], "3100000002")
    await run_jobs()
    await SimBillerPayment.filter(order_ref=lost["ref"]).delete()

    await sign_in(page, await operator())
    await page.goto("/console/billpay/orders?state=succeeded")
    assert await page.locator("#orders tbody tr").count() == 2
    await page.goto("/console/billpay")
    assert biller["name"] in await page.inner_text("#billers")
    await page.fill("input[name=day]", business_day().isoformat())
    await page.click("#reconcile")
    await page.wait_for_selector(".notice")
    await run_jobs()
    await page.reload()
    assert lost["ref"] in await page.inner_text("#mismatches")
    await page.fill("#mismatches input[name=note]", "biller re-sent the payment")
    await page.locator("#mismatches button").click()
    await page.wait_for_selector(".notice")
    assert await page.locator("#mismatches button").count() == 0
    assert await AuditEntry.filter(action__startswith="billpay.").count() >= 1

    # The order the biller never got is reversed: the member is refunded.
    await page.goto(f"/console/billpay/orders?ref={lost['ref']}")
    await page.fill("#orders input[name=reason]", "the biller never received it")
    await page.click(f"#reverse-{lost['id']}")
    await page.wait_for_selector(".notice")
    await run_jobs()  # the refund is a job
    assert await state_of(lost["id"]) == "refunded"

    # A new biller: a malformed code comes back inline; then it is added and taken off.
    await page.goto("/console/billpay")
    for name, value in (
        ("code", "Bad Code!"),
        ("name", "国网上海电力"),
        ("region", "上海市"),
        ("fee_fixed", "0.5"),
    ):
        await page.fill(f"form.card input[name={name}]", value)
    await page.click("#create-biller")
    assert await page.locator("#error-code").count() == 1
    await page.fill("form.card input[name=code]", "sh-power-2")
    await page.click("#create-biller")
    await page.wait_for_selector(".notice")
    biller_id = (await Biller.get(code="sh-power-2")).id
    assert (await Biller.get(id=biller_id)).fee_fixed == 50
    await page.click(f"#toggle-biller-{biller_id}")
    await page.wait_for_selector(".notice")
    assert not (await Biller.get(id=biller_id)).is_active
    await screenshot(page, "billpay")
