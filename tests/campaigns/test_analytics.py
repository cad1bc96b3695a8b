"""Campaign analytics: grabs, vouchers issued and redeemed (from loyalty, by the campaign's references),
redemption rate, cost, points, new members acquired, per merchant and per grid; the live view."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.core.timeutil import utcnow
from loyalty import ledger as loyalty_ledger
from loyalty.ledger.postings import EarnSource
from loyalty.models import Member
from merchants.models import Branch, Merchant
from tests.campaigns import support as ch
from tests.loyalty.support import active_merchant, joined_member


async def _redeem(client: httpx.AsyncClient, staff: dict[str, str], member: dict[str, str]) -> None:
    [voucher] = (await client.get("/mp/v1/vouchers", headers=member)).json()["items"]
    token = (await client.post(f"/mp/v1/vouchers/{voucher['id']}/token", headers=member)).json()["token"]
    redeemed = await client.post(
        "/merchant/v1/redemptions", json={"token": token, "bill_amount_fen": 3000}, headers=staff
    )
    assert redeemed.status_code == 201, redeemed.text


async def test_analytics_of_a_flash_campaign(client: httpx.AsyncClient) -> None:
    team = await ch.ops(client)
    north, _ = await active_merchant(client, "North Coffee")
    south, _ = await active_merchant(client, "South Coffee")
    branch = await Branch.create(name="Branch A", lat=31.2, lng=121.4)
    await Merchant.filter(name="North Coffee").update(grid_id=branch.id)
    old = await ch.segment_members(1)
    await Member.filter(id=old[0][0]).update(joined_at=utcnow() - timedelta(days=30))
    never = await ch.segment_members(1, joined=False)
    campaign_id = await ch.live_flash(client, team, stock=10, budget_fen=10_000)
    fresh = await ch.segment_members(2)  # joined after the campaign was approved
    winners = old + never + fresh
    for _, headers in winners:
        assert (await ch.grab(client, campaign_id, headers)).json()["outcome"] == "won"
    assert (await ch.grab(client, campaign_id, winners[0][1])).json()["outcome"] == "limit_reached"
    await ch.drain(campaign_id)
    await _redeem(client, north, fresh[0][1])
    await _redeem(client, north, fresh[1][1])
    await _redeem(client, south, old[0][1])
    # Points a campaign credits carry its reference prefix (other campaign types); one is reversed.
    _, earner = await joined_member(client)
    await loyalty_ledger.earn_points(
        earner, 50, source=EarnSource.CAMPAIGN, reference=f"campaign:{campaign_id}:a"
    )
    await loyalty_ledger.earn_points(
        earner, 20, source=EarnSource.CAMPAIGN, reference=f"campaign:{campaign_id}:b"
    )
    await loyalty_ledger.reverse_points(f"campaign:{campaign_id}:b")
    await loyalty_ledger.earn_points(
        earner, 99, source=EarnSource.CAMPAIGN, reference=f"campaign:{campaign_id + 1}:a"
    )

    stats = (await client.get(f"/ops/v1/campaigns/{campaign_id}/analytics", headers=team.approver)).json()
    assert (stats["participants"], stats["grabs_tried"], stats["grabs_won"]) == (4, 5, 4)
    assert (stats["rewards_issued"], stats["vouchers_issued"], stats["vouchers_redeemed"]) == (4, 4, 3)
    assert stats["redemption_rate"] == 0.75
    assert stats["redeemed_discount_fen"] == 3 * 1600
    assert (stats["cost_fen"], stats["points_issued"]) == (400, 50)
    assert stats["new_members_acquired"] == 2  # the old member joined before, one never joined
    north_id = (await Merchant.get(name="North Coffee")).id
    south_id = (await Merchant.get(name="South Coffee")).id
    assert stats["by_merchant"] == [
        {"merchant_id": north_id, "grid_id": branch.id, "vouchers_redeemed": 2, "discount_fen": 3200},
        {"merchant_id": south_id, "grid_id": None, "vouchers_redeemed": 1, "discount_fen": 1600},
    ]
    assert stats["by_grid"] == [
        {"grid_id": branch.id, "merchants": 1, "vouchers_redeemed": 2, "discount_fen": 3200},
        {"grid_id": None, "merchants": 1, "vouchers_redeemed": 1, "discount_fen": 1600},
    ]


async def test_live_view_streams_server_sent_events(client: httpx.AsyncClient) -> None:
    team = await ch.ops(client)
    campaign_id = await ch.live_flash(client, team, stock=5)
    [(_, headers)] = await ch.members(1)
    await ch.grab(client, campaign_id, headers)
    async with client.stream(
        "GET",
        f"/ops/v1/campaigns/{campaign_id}/live/events",
        params={"interval": 0.2, "limit": 2},
        headers=team.approver,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = []
        async for line in response.aiter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert "event: live" in lines
    assert '"left":4' in lines[-1]
