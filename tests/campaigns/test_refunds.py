"""A refunded sale gives back what campaigns paid for it: points reversed, unused vouchers revoked."""

from __future__ import annotations

from typing import Any

import httpx

from campaigns.models import CampaignPayout, Referral
from campaigns.types import clawback, sale_listener, spend_and_get
from loyalty.models import Voucher, VoucherStatus
from tests.campaigns import support as ch
from tests.campaigns.test_types import live, live_body, points_reward
from tests.helpers import run_jobs
from tests.loyalty.support import active_merchant, assert_ledger_sound, balance, joined_member, sale
from tests.loyalty.test_vouchers import published_benefit, redeem, token_for


async def refund(client: httpx.AsyncClient, merchant: dict[str, str], sale_id: int) -> None:
    response = await client.post(f"/merchant/v1/sales/{sale_id}/refund", headers=merchant)
    assert response.status_code == 200, response.text


async def voucher_reward(client: httpx.AsyncClient) -> dict[str, Any]:
    benefit_id = await published_benefit(client, stock_total=100, per_member_limit=5, price_points=0)
    return {"kind": "voucher", "title": "¥5 off", "value_fen": 500, "cost_fen": 300, "benefit_id": benefit_id}


async def test_a_refund_takes_back_points_bonuses_and_unused_vouchers(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, merchant_id = await active_merchant(client)
    member, member_id = await joined_member(client)
    covered = {"merchant_ids": [merchant_id]}
    points_campaign = await live(
        client,
        team,
        live_body({"type": "spend_and_get", "min_spend_fen": 5000, "reward": points_reward(500)}),
    )
    voucher_campaign = await live(
        client,
        team,
        live_body(
            {"type": "spend_and_get", "min_spend_fen": 5000, "reward": await voucher_reward(client)},
            **covered,
        ),
    )
    await live(client, team, live_body({"type": "multiplier", "multiplier_percent": 200}, **covered))

    bought = (await sale(client, merchant, member, 6000)).json()
    await run_jobs()
    assert await balance(client, member) == 120 + 500  # 60 points doubled, and the reward
    voucher = await Voucher.get(member_id=member_id, source="campaign")
    token = await token_for(client, member, voucher.id)  # shown at the till before the refund

    await refund(client, merchant, bought["id"])
    await run_jobs()
    await sale_listener.on_sale_refunded(bought["id"])  # delivered twice: taken back once
    assert await balance(client, member) == 0
    assert (await Voucher.get(id=voucher.id)).status == VoucherStatus.REVOKED
    scanned = await redeem(client, merchant, token)
    assert scanned.status_code == 409 and scanned.json()["code"] == "voucher.revoked"
    shown = await client.post(f"/mp/v1/vouchers/{voucher.id}/token", headers=member)
    assert shown.status_code == 409 and shown.json()["code"] == "voucher.revoked"
    listed = await client.get("/mp/v1/vouchers", params={"status": "revoked"}, headers=member)
    assert [(v["id"], v["status"]) for v in listed.json()["items"]] == [(voucher.id, "revoked")]
    payouts = await CampaignPayout.filter(member_id=member_id).order_by("id")
    assert len(payouts) == 3 and all(p.reversed_at is not None for p in payouts)
    assert {p.campaign_id for p in payouts} >= {points_campaign, voucher_campaign}
    await assert_ledger_sound()

    # A reversed payout still counts against the member's limits (one reward each here): buying and
    # refunding cannot be repeated for fresh rewards, so the next purchase earns its plain points only.
    await sale(client, merchant, member, 6000)
    await run_jobs()
    assert await balance(client, member) == 60
    assert await CampaignPayout.filter(member_id=member_id).count() == 3


async def test_a_voucher_used_before_the_refund_stays_used(client: httpx.AsyncClient, team: ch.Ops) -> None:
    merchant, merchant_id = await active_merchant(client)
    member, member_id = await joined_member(client)
    await live(
        client,
        team,
        live_body(
            {"type": "spend_and_get", "min_spend_fen": 5000, "reward": await voucher_reward(client)},
            merchant_ids=[merchant_id],
        ),
    )
    bought = (await sale(client, merchant, member, 6000)).json()
    await run_jobs()
    voucher = await Voucher.get(member_id=member_id, source="campaign")
    used = await redeem(client, merchant, await token_for(client, member, voucher.id))
    assert used.status_code == 201, used.text
    await refund(client, merchant, bought["id"])
    await run_jobs()
    assert (await Voucher.get(id=voucher.id)).status == VoucherStatus.USED  # the discount stands
    assert (await CampaignPayout.get(member_id=member_id)).reversed_at is not None
    await assert_ledger_sound()


async def test_a_refund_landing_while_the_listener_pays_is_caught_by_the_listener(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    await live(
        client,
        team,
        live_body({"type": "spend_and_get", "min_spend_fen": 1000, "reward": points_reward(300)}),
    )
    bought = (await sale(client, merchant, member, 2000)).json()
    await spend_and_get.rewards_for_sale(bought["id"])  # the listener paid ...
    await refund(client, merchant, bought["id"])  # ... the refund commits, its job not run yet ...
    await sale_listener.on_sale(bought["id"])  # ... and the listener, finishing, sees the refund
    assert await balance(client, member) == 0
    assert await clawback.claw_back_sale(bought["id"]) == []  # the refund's own job finds nothing left
    await run_jobs()
    assert await balance(client, member) == 0
    await assert_ledger_sound()


async def test_refunding_a_referees_qualifying_sale_takes_back_both_rewards(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    referrer, _ = await joined_member(client)
    referee, referee_id = await joined_member(client)
    await live(
        client,
        team,
        live_body(
            {
                "type": "referral",
                "qualifying_min_spend_fen": 3000,
                "referrer_reward": points_reward(200),
                "referee_reward": points_reward(100),
            }
        ),
    )
    code = (await client.get("/mp/v1/me/referral", headers=referrer)).json()["code"]
    accepted = await client.post("/mp/v1/referrals/accept", json={"code": code}, headers=referee)
    assert accepted.status_code == 200, accepted.text
    qualifying = (await sale(client, merchant, referee, 3000)).json()
    await run_jobs()
    assert (await balance(client, referee), await balance(client, referrer)) == (30 + 100, 200)

    await refund(client, merchant, qualifying["id"])
    await run_jobs()
    assert (await balance(client, referee), await balance(client, referrer)) == (0, 0)
    assert (await Referral.get(referee_id=referee_id)).status.value == "revoked"
    invitations = (await client.get("/mp/v1/me/referral", headers=referrer)).json()["invitations"]
    assert [i["status"] for i in invitations] == ["revoked"]
    await sale(client, merchant, referee, 5000)  # a revoked referral does not pay again
    await run_jobs()
    assert (await balance(client, referee), await balance(client, referrer)) == (50, 0)
    await assert_ledger_sound()
