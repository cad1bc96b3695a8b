"""DOMAIN.md scenario 3 through the API: ops configure a flash sale for a targeted audience, a second
operator approves it, at the start the crowd presses "grab" at once; exactly the stock exists
afterwards, nobody holds two, and the ops live view shows the stock draining."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from app.core.config import get_settings
from app.core.redis_client import get_redis
from campaigns.flash.keys import k
from campaigns.flash.runtime import runtime
from campaigns.models import FlashWin
from merchants.models import Branch, Merchant
from tests.campaigns import support as ch
from tests.helpers import signup_merchant

STOCK = 100


async def test_flash_sale_for_gold_payroll_members_in_two_grids(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.reset()
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)  # in-process every member shares one address
    monkeypatch.setattr(get_settings(), "flash_recovery_settle_seconds", 0.2)
    await signup_merchant(client, "Corner Coffee")
    author, approver = await ch.operator("campaign_manager"), await ch.operator("approver")
    coffee = await Merchant.get(name="Corner Coffee")
    grids = [(await Branch.create(name=f"Branch {n}", lat=31.2, lng=121.4 + n)).id for n in (1, 2)]
    # Gold-tier payroll customers (tier from loyalty, the payroll tag imported by ops) and the rest.
    targeted = await ch.segment_members(
        200, tier="gold", tags=("payroll",), grid=grids[0]
    ) + await ch.segment_members(200, tier="gold", tags=("payroll",), grid=grids[1])
    elsewhere = (await Branch.create(name="Branch 3", lat=30.0, lng=120.0)).id
    others = (
        await ch.segment_members(20, tier="gold", tags=("payroll",), grid=elsewhere)
        + await ch.segment_members(20, tier="gold", tags=("payroll",))
        + await ch.segment_members(40, tier="gold", grid=grids[0])
        + await ch.segment_members(40, tier="silver", tags=("payroll",), grid=grids[1])
        + await ch.segment_members(20)
    )
    body = ch.flash_body(
        stock=STOCK,
        limit=1,
        starts_in=timedelta(seconds=3),
        name="10:00 coffee vouchers at ¥1",
        grid_ids=grids,
        merchant_ids=[coffee.id],
        audience={"tiers": ["gold"], "tags": ["payroll"]},
        budget_fen=STOCK * 1500,
        reward={"kind": "voucher", "title": "Latte", "value_fen": 1600, "cost_fen": 1500},
    )
    campaign = await ch.create(client, author, body)
    cid = campaign["id"]
    assert (await client.post(f"/ops/v1/campaigns/{cid}/submit", headers=author)).status_code == 200
    denied = await client.post(f"/ops/v1/campaigns/{cid}/approve", headers=author)
    assert denied.json()["code"] in ("auth.forbidden", "campaign.four_eyes")
    approved = await client.post(f"/ops/v1/campaigns/{cid}/approve", headers=approver)
    assert approved.json()["status"] in ("approved", "live")  # live if the clock passed the start meanwhile
    preheated = await client.post(f"/ops/v1/campaigns/{cid}/preheat", headers=author)
    assert preheated.json()["left"] == STOCK
    # Only the audience sees the campaign in the mini-program.
    for headers, shown in ((targeted[0][1], [cid]), (others[0][1], []), (others[-1][1], [])):
        listed = (await client.get("/mp/v1/campaigns", headers=headers)).json()["items"]
        assert [c["id"] for c in listed] == shown
    early = await ch.grab(client, cid, targeted[0][1])
    assert early.json()["outcome"] == "not_started"
    opens_ms = int(await get_redis().hget(k(cid, "meta"), "start"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (await get_redis().time())[0] * 1000 < opens_ms:  # the sale opens on Redis's clock
        assert loop.time() < deadline, f"the sale never opened on Redis's clock (start {opens_ms} ms)"
        await asyncio.sleep(0.05)

    async def left() -> int:
        live = await client.get(f"/ops/v1/campaigns/{cid}/live", headers=approver)
        assert live.status_code == 200, live.text
        return int(live.json()["left"])

    async def watch(seen: list[int]) -> list[int]:
        """The ops dashboard polling the live view while the crowd grabs, until it shows the stock gone."""
        deadline = loop.time() + 120
        while seen[-1] > 0:
            assert loop.time() < deadline, f"the live view never showed the stock gone; last seen {seen[-5:]}"
            await asyncio.sleep(0.01)
            seen.append(await left())
        return seen

    # The members outside the audience press first, so their presses reach the script while stock is left
    # (once it is gone the script answers sold_out before it looks at the audience).
    crowd = [h for _, h in others + targeted]
    presses, dashboard = await asyncio.gather(
        asyncio.gather(*(ch.grab(client, cid, h) for h in crowd for _ in range(2))), watch([await left()])
    )
    outcomes = Counter(p.json()["outcome"] for p in presses)
    assert outcomes["won"] == STOCK
    assert set(outcomes) <= {"won", "sold_out", "limit_reached", "not_eligible"}
    outsiders = Counter(p.json()["outcome"] for p in presses[: 2 * len(others)])
    assert set(outsiders) <= {"not_eligible", "sold_out"}, outsiders
    assert outsiders["not_eligible"] > 0, outsiders  # they did press before the stock ran out
    # The dashboard saw the whole drain, from the full stock to none, never going back up.
    assert dashboard[0] == STOCK and dashboard[-1] == 0, dashboard
    assert dashboard == sorted(dashboard, reverse=True), dashboard
    await ch.drain(cid)
    wins = await FlashWin.filter(campaign_id=cid).values_list("member_id", flat=True)
    assert len(wins) == STOCK
    assert max(Counter(wins).values()) == 1
    assert set(wins) <= {m for m, _ in targeted}
    # Every win is a voucher of the latte benefit, in the winner's "my vouchers".
    assert await ch.assert_vouchers_match_wins(cid) == STOCK
    winner = next(h for m, h in targeted if m == wins[0])
    mine = (await client.get("/mp/v1/vouchers", headers=winner)).json()["items"]
    assert [v["name"] for v in mine] == ["Latte"]
    live = (await client.get(f"/ops/v1/campaigns/{cid}/live", headers=approver)).json()
    assert (live["left"], live["issued"], live["persisted"], live["pending_persist"]) == (0, STOCK, STOCK, 0)
    stats = (await client.get(f"/ops/v1/campaigns/{cid}/analytics", headers=approver)).json()
    assert (stats["rewards_issued"], stats["cost_fen"]) == (STOCK, STOCK * 1500)
