"""The other campaign types end to end: points multiplier, spend-and-get, check-in streaks, lucky draws
and referrals, through HTTP where a member acts (and the real worker for sale listeners)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core.models import AuditEntry
from app.core.timeutil import utcnow
from campaigns.management import service as campaign_service
from campaigns.models import Campaign, CampaignPayout, CheckIn, Draw, DrawPrize, Referral
from campaigns.types import checkin, draw, multiplier, referral, spend_and_get
from loyalty import ledger as loyalty_ledger
from loyalty.models import Member, MessageDelivery, MessageKind, PointsAccount, Voucher
from loyalty.till.sales import merchant_terms
from merchants.models import Merchant
from tests.campaigns import support as ch
from tests.helpers import run_jobs
from tests.loyalty.support import active_merchant, assert_ledger_sound, balance, joined_member, sale
from tests.loyalty.test_vouchers import published_benefit


def points_reward(points: int, cost_fen: int = 10) -> dict[str, Any]:
    return {"kind": "points", "title": f"{points} points", "points": points, "cost_fen": cost_fen}


def live_body(config: dict[str, Any], lasts: timedelta = timedelta(days=10), **extra: Any) -> dict[str, Any]:
    """A campaign that started a minute ago (approving it makes it live at once)."""
    return {
        "name": f"{config['type']} campaign",
        "starts_at": ch.iso(timedelta(minutes=-1)),
        "ends_at": ch.iso(timedelta(minutes=-1) + lasts),
        "config": config,
        **extra,
    }


async def live(client: httpx.AsyncClient, team: ch.Ops, body: dict[str, Any]) -> int:
    campaign = await ch.approved(client, team, body)
    assert campaign["status"] == "live", campaign
    return int(campaign["id"])


async def live_draw(client: httpx.AsyncClient, team: ch.Ops, body: dict[str, Any]) -> int:
    """A lucky draw approved before its window (the seed is committed first), then opened by the tick."""
    body = {**body, "starts_at": ch.iso(timedelta(hours=1))}
    campaign_id = int((await ch.approved(client, team, body))["id"])
    # An hour passes: the window opens and the scheduler's tick starts the campaign.
    await Campaign.filter(id=campaign_id).update(starts_at=utcnow() - timedelta(minutes=1))
    assert campaign_id in await campaign_service.tick()
    return campaign_id


# -- 1. points multiplier ------------------------------------------------------------------------------


async def test_multiplier_applies_at_covered_merchants_during_the_window(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    covered, covered_id = await active_merchant(client, "Covered Coffee")
    elsewhere, elsewhere_id = await active_merchant(client, "Elsewhere Bakery")
    by_category, category_id = await active_merchant(client, "Beauty Bar")
    await Merchant.filter(id=category_id).update(category="beauty")
    member, _ = await joined_member(client)

    before = await sale(client, covered, member, 1000)
    await live(
        client, team, live_body({"type": "multiplier", "multiplier_percent": 300}, merchant_ids=[covered_id])
    )
    await live(
        client, team, live_body({"type": "multiplier", "multiplier_percent": 200}, categories=["beauty"])
    )
    # A multiplier whose window has not opened yet does nothing.
    await ch.approved(
        client,
        team,
        {
            **live_body({"type": "multiplier", "multiplier_percent": 500}),
            "starts_at": ch.iso(timedelta(hours=2)),
        },
    )

    tripled = await sale(client, covered, member, 1000)
    plain = await sale(client, elsewhere, member, 1000)
    doubled = await sale(client, by_category, member, 1000)

    assert before.json()["points"] == 10
    assert tripled.json()["points"] == 30
    assert plain.json()["points"] == 10
    assert doubled.json()["points"] == 20
    assert elsewhere_id != covered_id

    # After the sales commit, each bonus is booked against its campaign (limit 1 per member by default).
    await run_jobs()
    booked = await CampaignPayout.filter(reason="multiplier").order_by("campaign_id")
    assert [(p.points, p.reference.split(":")[-1]) for p in booked] == [
        (20, str(tripled.json()["id"])),
        (10, str(doubled.json()["id"])),
    ]
    assert (await sale(client, covered, member, 1000)).json()["points"] == 10  # the member's limit is used
    mine = await client.get(f"/mp/v1/campaigns/{booked[0].campaign_id}/rewards", headers=member)
    assert [(r["reason"], r["kind"], r["points"]) for r in mine.json()] == [("multiplier", "points", 20)]
    await assert_ledger_sound()


async def test_multiplier_bonuses_spend_the_budget_until_it_ends_the_campaign(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, merchant_id = await active_merchant(client)
    member, _ = await joined_member(client)
    campaign_id = await live(
        client,
        team,
        live_body({"type": "multiplier", "multiplier_percent": 200}, per_member_limit=10, budget_count=2),
    )
    earned = []
    for _ in range(3):
        sold = (await sale(client, merchant, member, 1000)).json()
        earned.append(sold["points"])
        await run_jobs()
        await multiplier.on_sale(sold["id"])  # delivered twice: booked once

    campaign = await Campaign.get(id=campaign_id)
    assert earned == [20, 20, 10]
    assert (campaign.spent_count, campaign.status.value, campaign.end_reason) == (
        2,
        "ended",
        "budget_exhausted",
    )
    assert campaign.spent_fen == 2 * 10 * (await merchant_terms(merchant_id)).point_value_fen
    assert await CampaignPayout.filter(campaign_id=campaign_id).count() == 2


# -- 2. spend-and-get ----------------------------------------------------------------------------------


async def test_spend_and_get_issues_once_per_qualifying_sale_within_limits_and_budget(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, merchant_id = await active_merchant(client)
    elsewhere, _ = await active_merchant(client, "Not In It")
    first, first_id = await joined_member(client)
    second, second_id = await joined_member(client)
    benefit_id = await published_benefit(client, stock_total=100, per_member_limit=5, price_points=0)
    reward = {
        "kind": "voucher",
        "title": "¥5 off",
        "value_fen": 500,
        "cost_fen": 300,
        "benefit_id": benefit_id,
    }
    campaign_id = await live(
        client,
        team,
        live_body(
            {"type": "spend_and_get", "min_spend_fen": 5000, "reward": reward},
            merchant_ids=[merchant_id],
            per_member_limit=2,
            budget_count=3,
        ),
    )

    small = await sale(client, merchant, first, 4999)
    big = await sale(client, merchant, first, 6000)
    not_covered = await sale(client, elsewhere, first, 9000)
    await run_jobs()
    await spend_and_get.on_sale(big.json()["id"])  # delivered twice: nothing more
    await run_jobs()
    assert await Voucher.filter(member_id=first_id, source="campaign").count() == 1
    assert small.status_code == not_covered.status_code == 201

    await sale(client, merchant, first, 5000)
    await sale(client, merchant, first, 8000)  # over the per-member limit of 2
    await run_jobs()
    assert await Voucher.filter(member_id=first_id, source="campaign").count() == 2

    await sale(client, merchant, second, 7000)  # the third reward: the budget is spent
    await run_jobs()
    assert await Voucher.filter(member_id=second_id, source="campaign").count() == 1

    campaign = await Campaign.get(id=campaign_id)
    assert (campaign.spent_count, campaign.spent_fen) == (3, 900)
    assert (campaign.status.value, campaign.end_reason) == ("ended", "budget_exhausted")
    rewards = (await client.get(f"/mp/v1/campaigns/{campaign_id}/rewards", headers=first)).json()
    assert [(r["reason"], r["kind"]) for r in rewards] == [("spend", "voucher")] * 2
    assert {r["voucher_id"] for r in rewards} == {v.id for v in await Voucher.filter(member_id=first_id)}
    refs = sorted(v.source_reference for v in await Voucher.filter(source="campaign"))
    assert all(r.startswith(f"campaign:{campaign_id}:sale:") for r in refs) and len(set(refs)) == 3
    await sale(client, merchant, second, 7000)  # ended: nothing
    await run_jobs()
    assert await CampaignPayout.filter(campaign_id=campaign_id).count() == 3


# -- 3. check-in streak --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.base = utcnow()
        self.days = 0

    def __call__(self) -> datetime:
        return self.base + timedelta(days=self.days)


async def test_checkin_streak_rewards_consecutive_days(
    client: httpx.AsyncClient, team: ch.Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(checkin, "utcnow", clock)
    member, member_id = await joined_member(client)
    campaign_id = await live(
        client,
        team,
        live_body({"type": "checkin", "streak_days": 3, "reward": points_reward(50)}, per_member_limit=2),
    )
    path = f"/mp/v1/campaigns/{campaign_id}/check-in"

    async def check_in() -> dict[str, Any]:
        response = await client.post(path, headers=member)
        assert response.status_code == 200, response.text
        return dict(response.json())

    day0 = await check_in()
    again = await check_in()
    progress = (await client.get(path, headers=member)).json()
    assert (day0["streak"], day0["checked_in_today"], day0["days_to_reward"]) == (1, True, 2)
    assert again["streak"] == 1 and again["days"] == day0["days"] and len(day0["days"]) == 1
    assert progress["streak"] == 1

    clock.days = 1
    assert (await client.get(path, headers=member)).json()["checked_in_today"] is False
    assert (await check_in())["streak"] == 2
    clock.days = 2
    third = await check_in()
    assert (third["streak"], third["payout"], third["rewards"], third["days_to_reward"]) == (3, "paid", 1, 3)
    assert await balance(client, member) == 50
    assert await check_in() == third | {"payout": None}  # the same day again pays nothing more

    clock.days = 4  # a day missed: the streak starts over
    restarted = await check_in()
    assert (restarted["streak"], restarted["rewards"], len(restarted["days"])) == (1, 1, 4)
    assert await CheckIn.filter(member_id=member_id).count() == 4

    clock.days = 11  # after the window
    closed = await client.post(path, headers=member)
    assert closed.status_code == 409 and closed.json()["code"] == "campaign.not_running"


async def test_concurrent_checkins_the_same_day_count_once(client: httpx.AsyncClient, team: ch.Ops) -> None:
    member, member_id = await joined_member(client)
    campaign_id = await live(
        client, team, live_body({"type": "checkin", "streak_days": 2, "reward": points_reward(5)})
    )
    answers = await asyncio.gather(
        *(client.post(f"/mp/v1/campaigns/{campaign_id}/check-in", headers=member) for _ in range(8))
    )
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["streak"] for a in answers} == {1}
    assert await CheckIn.filter(member_id=member_id).count() == 1
    wrong = await client.post(f"/mp/v1/campaigns/{campaign_id}/draw", headers=member)
    assert wrong.status_code == 409 and wrong.json()["code"] == "campaign.wrong_type"


# -- 4. lucky draw -------------------------------------------------------------------------------------


def draw_config(cost: int, *prizes: tuple[str, int, int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "lucky_draw",
        "cost_points": cost,
        "prizes": [{"name": n, "probability_ppm": p, "stock": s, "reward": r} for n, p, s, r in prizes],
    }


async def test_prize_stock_is_never_exceeded_under_concurrent_draws(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    campaign_id = await live_draw(
        client,
        team,
        live_body(draw_config(10, ("sure thing", 1_000_000, 5, points_reward(7))), per_member_limit=3),
    )
    people = await ch.members(20)
    for member_id, _ in people:
        await PointsAccount.create(member_id=member_id, balance=0)
        await loyalty_ledger.earn_points(
            member_id, 100, source=loyalty_ledger.EarnSource.OPS_GRANT, reference=f"seed:{member_id}"
        )

    answers = await asyncio.gather(
        *(client.post(f"/mp/v1/campaigns/{campaign_id}/draw", headers=h) for _, h in people for _ in range(2))
    )

    assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201]
    outcomes = [a.json()["outcome"] for a in answers]
    assert outcomes.count("won") == 5 and outcomes.count("out_of_stock") == 35
    assert (await DrawPrize.get(campaign_id=campaign_id)).stock_left == 0
    assert await CampaignPayout.filter(campaign_id=campaign_id).count() == 5
    assert await Draw.filter(campaign_id=campaign_id).count() == 40
    audit = await client.get(f"/ops/v1/campaigns/{campaign_id}/draws/verification", headers=team.approver)
    assert audit.status_code == 200, audit.text
    report = audit.json()
    assert (report["draws"], report["verified"], report["mismatches"]) == (40, 40, [])
    assert report["commitment_matches"] and report["stock_consistent"]
    assert [(p["stock"], p["left"], p["won"]) for p in report["prizes"]] == [(5, 0, 5)]
    balances = [await loyalty_ledger.points_balance(m) for m, _ in people]
    assert sum(balances) == 20 * 100 - 40 * 10 + 5 * 7
    await assert_ledger_sound()


async def test_draws_follow_the_committed_seed_and_cost_points(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    poor, _ = await joined_member(client)
    config = draw_config(
        20, ("big", 100_000, 1, points_reward(500)), ("small", 400_000, 100, points_reward(5))
    )  # 50 % no prize
    campaign_id = await live_draw(
        client, team, live_body(config, per_member_limit=6, per_member_daily_limit=6)
    )
    published = (await client.get(f"/mp/v1/campaigns/{campaign_id}", headers=member)).json()
    commitment = published["draw_commitment"]
    assert commitment and published["draw_seed"] is None
    await sale(client, merchant, member, 12_000)  # 120 points: six draws

    broke = await client.post(f"/mp/v1/campaigns/{campaign_id}/draw", headers=poor)
    assert broke.status_code == 409 and broke.json()["code"] == "points.insufficient"
    keyed = {**member, "Idempotency-Key": "draw-1"}
    first = await client.post(f"/mp/v1/campaigns/{campaign_id}/draw", headers=keyed)
    replay = await client.post(f"/mp/v1/campaigns/{campaign_id}/draw", headers=keyed)
    assert first.status_code == 201 and replay.json() == first.json()
    for _ in range(5):
        assert (await client.post(f"/mp/v1/campaigns/{campaign_id}/draw", headers=member)).status_code == 201
    over = await client.post(f"/mp/v1/campaigns/{campaign_id}/draw", headers=member)
    assert over.status_code == 409 and over.json()["code"] == "campaign.limit_reached"

    hidden = (await client.get(f"/mp/v1/campaigns/{campaign_id}/draws", headers=member)).json()
    assert hidden["draw_seed"] is None and {d["verified"] for d in hidden["draws"]} == {None}
    ended = await client.post(f"/ops/v1/campaigns/{campaign_id}/end", headers=team.author)
    assert ended.status_code == 200, ended.text

    revealed = (await client.get(f"/mp/v1/campaigns/{campaign_id}/draws", headers=member)).json()
    seed = revealed["draw_seed"]
    assert hashlib.sha256(seed.encode()).hexdigest() == commitment == revealed["draw_commitment"]
    draws = revealed["draws"]
    assert [d["sequence"] for d in draws] == [1, 2, 3, 4, 5, 6]
    assert {d["verified"] for d in draws} == {True}
    won_points = 0
    for d in draws:  # recomputed independently of campaigns.types.draw
        mac = hmac.new(seed.encode(), d["reference"].encode(), hashlib.sha256).hexdigest()
        roll = int(mac[:16], 16) % 1_000_000
        assert (mac, roll) == (d["digest"], d["roll"])
        expected = "big" if roll < 100_000 else "small" if roll < 500_000 else None
        assert d["prize_name"] == expected
        if expected is None:
            assert d["outcome"] == "no_prize"
        elif d["outcome"] == "won":
            won_points += 500 if expected == "big" else 5
        else:
            assert (expected, d["outcome"]) == ("big", "out_of_stock")
    assert await balance(client, member) == 120 - 6 * 20 + won_points
    tampered = await Draw.get(reference=draws[0]["reference"])
    tampered.digest = "0" * 64
    assert not draw.verify(seed, commitment, tampered, [])
    await assert_ledger_sound()


# -- 5. referral ---------------------------------------------------------------------------------------


async def test_referral_rewards_both_after_the_referees_first_qualifying_spend(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    referrer, referrer_id = await joined_member(client)
    referee, referee_id = await joined_member(client)
    veteran, veteran_id = await joined_member(client)
    await Member.filter(id=veteran_id).update(created_at=utcnow() - timedelta(days=90))

    mine = await client.get("/mp/v1/me/referral", headers=referrer)
    code = mine.json()["code"]
    assert mine.status_code == 200 and mine.json()["invitations"] == [] and mine.json()["referred"] is False
    assert (await client.get("/mp/v1/me/referral", headers=referrer)).json()["code"] == code

    async def accept(headers: dict[str, str], value: str) -> httpx.Response:
        return await client.post("/mp/v1/referrals/accept", json={"code": value}, headers=headers)

    none_running = await accept(referee, code)
    assert none_running.status_code == 409 and none_running.json()["code"] == "referral.no_campaign"
    campaign_id = await live(
        client,
        team,
        live_body(
            {
                "type": "referral",
                "qualifying_min_spend_fen": 3000,
                "referrer_reward": points_reward(200),
                "referee_reward": points_reward(100),
            },
            per_member_limit=5,
        ),
    )
    own = (await client.get("/mp/v1/me/referral", headers=referee)).json()["code"]
    assert (await accept(referee, own)).json()["code"] == "referral.not_allowed"
    assert (await accept(referee, "NOPE2345")).json()["code"] == "referral.code_not_found"
    assert (await accept(veteran, code)).json()["code"] == "referral.not_allowed"

    accepted = await accept(referee, code.lower())
    again = await accept(referee, code)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "pending" and again.json()["id"] == accepted.json()["id"]
    assert (await accept(referee, own)).status_code == 409
    assert await AuditEntry.filter(action="referral.accept").count() == 1

    await sale(client, merchant, referee, 2000)  # below the qualifying spend
    await run_jobs()
    assert (await Referral.get(referee_id=referee_id)).status.value == "pending"
    qualifying = await sale(client, merchant, referee, 3000)
    await run_jobs()
    await referral.on_sale(qualifying.json()["id"])  # delivered twice: paid once
    await sale(client, merchant, referee, 5000)  # a later spend pays nothing more
    await run_jobs()

    assert await balance(client, referee) == 20 + 30 + 50 + 100
    assert await balance(client, referrer) == 200
    told = await MessageDelivery.filter(member_id=referrer_id, kind=MessageKind.REFERRAL_REWARD)
    assert len(told) == 1 and "200 points" in told[0].body and told[0].sent_at is not None
    rewarded = await Referral.get(referee_id=referee_id)
    assert (rewarded.status.value, rewarded.sale_id) == ("rewarded", qualifying.json()["id"])
    assert await CampaignPayout.filter(campaign_id=campaign_id).count() == 2
    invitations = (await client.get("/mp/v1/me/referral", headers=referrer)).json()["invitations"]
    assert [(i["status"], i["campaign_id"]) for i in invitations] == [("rewarded", campaign_id)]
    assert (await client.get("/mp/v1/me/referral", headers=referee)).json()["referred_status"] == "rewarded"
    assert referrer_id != referee_id
    await assert_ledger_sound()


async def test_concurrent_listeners_never_pay_past_the_member_limit(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    campaign_id = await live(
        client,
        team,
        live_body(
            {"type": "spend_and_get", "min_spend_fen": 1000, "reward": points_reward(40)},
            per_member_limit=3,
            per_member_daily_limit=2,
        ),
    )
    sales = [(await sale(client, merchant, member, 2000)).json()["id"] for _ in range(6)]

    await asyncio.gather(*(spend_and_get.rewards_for_sale(s) for s in sales + sales))

    payouts = await CampaignPayout.filter(campaign_id=campaign_id).order_by("sequence")
    assert [(p.sequence, p.day_sequence) for p in payouts] == [(1, 1), (2, 2)]  # the daily limit binds
    assert await loyalty_ledger.points_balance(member_id) == 6 * 20 + 2 * 40
    await assert_ledger_sound()


async def test_a_listener_delayed_past_the_end_still_pays_a_sale_made_in_the_window(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    campaign_id = await live(
        client, team, live_body({"type": "spend_and_get", "min_spend_fen": 1000, "reward": points_reward(40)})
    )
    in_window = await sale(client, merchant, member, 2000)
    # The window closes and the scheduler ends the campaign before the worker gets to the sale.
    await Campaign.filter(id=campaign_id).update(ends_at=utcnow())
    assert campaign_id in await campaign_service.tick()
    after = await sale(client, merchant, member, 2000)
    await run_jobs()

    paid = await CampaignPayout.filter(campaign_id=campaign_id)
    assert [p.reference for p in paid] == [f"campaign:{campaign_id}:sale:{in_window.json()['id']}"]
    assert after.status_code == 201 and await loyalty_ledger.points_balance(member_id) == 40 + 40


async def test_referral_codes_cannot_be_guessed_by_trying(client: httpx.AsyncClient) -> None:
    member, _ = await joined_member(client)
    answers = [
        await client.post("/mp/v1/referrals/accept", json={"code": f"GUESS{n:03d}"}, headers=member)
        for n in range(11)
    ]
    assert [a.status_code for a in answers] == [404] * 10 + [429]
    assert answers[-1].json()["code"] == "rate_limited" and "Retry-After" in answers[-1].headers
