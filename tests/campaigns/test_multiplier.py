"""Points multipliers decided in the sale's transaction: the sale records the decision (campaign, percent,
bonus points, reserved cost), the budget is reserved there, and the listener books what was recorded.

The concurrency tests send real concurrent HTTP sales (`asyncio.gather` over the client): on PostgreSQL
they run in concurrent transactions, on SQLite one after the other."""

from __future__ import annotations

import asyncio

import httpx

from campaigns.models import Campaign, CampaignPayout
from campaigns.types import multiplier, sale_listener
from loyalty import till as loyalty_till
from loyalty.models import Entry, Journal, Member, Sale
from tests.campaigns import support as ch
from tests.campaigns.test_refunds import refund
from tests.campaigns.test_types import live, live_body
from tests.helpers import run_jobs
from tests.loyalty.support import (
    active_merchant,
    assert_ledger_sound,
    balance,
    joined_member,
    member_code,
    sale,
)


def doubling(**extra: object) -> dict[str, object]:
    return live_body({"type": "multiplier", "multiplier_percent": 200}, **extra)


async def sale_with_code(
    client: httpx.AsyncClient, merchant: dict[str, str], code: str, amount_fen: int
) -> dict[str, object]:
    response = await client.post(
        "/merchant/v1/sales", json={"member_code": code, "amount_fen": amount_fen}, headers=merchant
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def concurrent_sales(
    client: httpx.AsyncClient, merchant: dict[str, str], members: list[dict[str, str]], amount_fen: int
) -> list[dict[str, object]]:
    """One sale per entry of `members`, all sent at once (the member codes are fetched first)."""
    codes = [await member_code(client, member) for member in members]
    return list(await asyncio.gather(*(sale_with_code(client, merchant, c, amount_fen) for c in codes)))


async def assert_every_bonus_booked(campaign_id: int) -> list[Sale]:
    """Each boosted sale has its payout with the recorded bonus and cost; the budget spent is theirs."""
    boosted = await Sale.filter(multiplier_campaign_id=campaign_id).order_by("id")
    payouts = await CampaignPayout.filter(campaign_id=campaign_id).order_by("id")
    assert sorted((int(p.reference.split(":")[-1]), p.points, p.cost_fen) for p in payouts) == [
        (s.id, s.bonus_points, s.bonus_cost_fen) for s in boosted
    ]
    campaign = await Campaign.get(id=campaign_id)
    assert (campaign.spent_count, campaign.spent_fen) == (
        len(boosted),
        sum(s.bonus_cost_fen or 0 for s in boosted),
    )
    return boosted


async def test_the_sale_records_the_multiplier_decision_it_was_credited(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, merchant_id = await active_merchant(client)
    member, member_id = await joined_member(client)
    await Member.filter(id=member_id).update(tier="silver")  # earns 120 %: the bonus is on top of the tier
    campaign_id = await live(
        client,
        team,
        live_body({"type": "multiplier", "multiplier_percent": 300}, merchant_ids=[merchant_id]),
    )

    sold = (await sale(client, merchant, member, 1234)).json()

    recorded = await Sale.get(id=sold["id"])
    plain = 1234 * 100 * 120 // (10_000 * 100)  # 14: base 12 at the default rate, silver's 120 %
    assert sold["points"] == recorded.points == 1234 * 100 * 120 * 300 // (10_000 * 100 * 100) == 44
    assert (recorded.multiplier_campaign_id, recorded.multiplier_percent) == (campaign_id, 300)
    assert recorded.bonus_points == sold["points"] - plain == 30
    assert recorded.bonus_cost_fen == 30  # a point is worth 1 fen at merchants without terms
    # The sale's journal credits exactly what it recorded: the merchant funds the base, the pool the rest.
    journal = await Journal.get(id=recorded.journal_id)
    pool = await Entry.get(journal_id=journal.id, account_kind="pool")
    assert (journal.points, -pool.amount, journal.settlement_fen) == (44, 44 - 12, -12)
    # The budget was taken in the sale's own transaction, before any job ran ...
    campaign = await Campaign.get(id=campaign_id)
    assert (campaign.spent_count, campaign.spent_fen) == (1, 30)
    assert not await CampaignPayout.exists(campaign_id=campaign_id)
    # ... and the listener books the recorded decision, spending nothing more.
    await run_jobs()
    booked = await CampaignPayout.get(campaign_id=campaign_id)
    assert (booked.reference, booked.points, booked.cost_fen) == (
        f"campaign:{campaign_id}:sale:{sold['id']}",
        30,
        30,
    )
    assert (await Campaign.get(id=campaign_id)).spent_fen == 30
    recorded_view = await loyalty_till.sale_multiplier(sold["id"])
    assert recorded_view is not None
    assert (recorded_view.campaign_id, recorded_view.percent, recorded_view.bonus_points) == (
        campaign_id,
        300,
        30,
    )
    await assert_every_bonus_booked(campaign_id)
    await assert_ledger_sound()


async def test_a_sale_no_multiplier_boosts_records_no_decision(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    covered, covered_id = await active_merchant(client)
    elsewhere, _ = await active_merchant(client, "Elsewhere")
    member, _ = await joined_member(client)
    campaign_id = await live(client, team, doubling(merchant_ids=[covered_id]))

    uncovered = (await sale(client, elsewhere, member, 1000)).json()
    tiny = (await sale(client, covered, member, 40)).json()  # 0.4 points doubled is still none

    rows = await Sale.filter(id__in=[uncovered["id"], tiny["id"]]).values_list(
        "points", "multiplier_campaign_id", "multiplier_percent", "bonus_points", "bonus_cost_fen"
    )
    assert sorted(rows) == [(0, None, None, None, None), (10, None, None, None, None)]
    assert await loyalty_till.sale_multiplier(uncovered["id"]) is None
    assert await multiplier.book_sale(tiny["id"]) is None
    await run_jobs()
    assert not await CampaignPayout.exists(campaign_id=campaign_id)
    assert (await Campaign.get(id=campaign_id)).spent_count == 0


async def test_booking_a_sale_twice_books_it_once(client: httpx.AsyncClient, team: ch.Ops) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    campaign_id = await live(client, team, doubling(per_member_limit=5, budget_fen=1000))
    sold = (await sale(client, merchant, member, 1000)).json()

    first = await multiplier.book_sale(sold["id"])
    again = await multiplier.book_sale(sold["id"])
    await sale_listener.on_sale(sold["id"])
    await run_jobs()  # the sale's own listener, after the commit

    assert first is not None and first.outcome.value == "paid"
    assert again is not None and again.outcome.value == "already_paid"
    assert await CampaignPayout.filter(campaign_id=campaign_id).count() == 1
    campaign = await Campaign.get(id=campaign_id)
    assert (campaign.spent_count, campaign.spent_fen, campaign.status.value) == (1, 10, "live")
    assert await balance(client, member) == 20
    await assert_every_bonus_booked(campaign_id)


async def test_a_campaign_paused_after_the_sale_still_books_the_bonus_it_gave(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    campaign_id = await live(client, team, doubling())
    sold = (await sale(client, merchant, member, 1000)).json()
    paused = await client.post(f"/ops/v1/campaigns/{campaign_id}/pause", headers=team.author)
    assert paused.status_code == 200, paused.text

    await run_jobs()

    assert sold["points"] == 20
    assert [s.id for s in await assert_every_bonus_booked(campaign_id)] == [sold["id"]]
    assert (await sale(client, merchant, member, 1000)).json()["points"] == 10  # paused: no more bonuses


async def test_a_budget_running_out_between_concurrent_sales_never_leaves_a_bonus_unbooked(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    shoppers = [(await joined_member(client))[0] for _ in range(12)]
    # Three bonuses by count, and by fen two and a half: whichever runs out first decides.
    by_count = await live(client, team, doubling(budget_count=3))
    sold = await concurrent_sales(client, merchant, shoppers, 1000)

    boosted = await Sale.filter(multiplier_campaign_id=by_count)
    assert sorted(s["points"] for s in sold) == [10] * 9 + [20] * 3
    assert {s.id for s in boosted} == {s["id"] for s in sold if s["points"] == 20}
    campaign = await Campaign.get(id=by_count)
    assert (campaign.spent_count, campaign.status.value, campaign.end_reason) == (
        3,
        "ended",
        "budget_exhausted",
    )

    by_fen = await live(client, team, doubling(budget_fen=25))
    more = await concurrent_sales(client, merchant, shoppers, 1000)
    assert sorted(s["points"] for s in more) == [10] * 10 + [20] * 2
    campaign = await Campaign.get(id=by_fen)
    assert (campaign.spent_fen, campaign.status.value, campaign.end_reason) == (
        20,
        "ended",
        "budget_exhausted",
    )

    await run_jobs()
    for campaign_id in (by_count, by_fen):
        assert len(await assert_every_bonus_booked(campaign_id)) == (3 if campaign_id == by_count else 2)
    await assert_ledger_sound()


async def test_concurrent_sales_of_one_member_stay_within_the_member_limits(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    campaign_id = await live(client, team, doubling(per_member_limit=2))

    sold = await concurrent_sales(client, merchant, [member] * 6, 1000)

    assert sorted(s["points"] for s in sold) == [10] * 4 + [20] * 2
    await run_jobs()
    payouts = await CampaignPayout.filter(campaign_id=campaign_id, member_id=member_id).order_by("sequence")
    assert [p.sequence for p in payouts] == [1, 2]
    assert len(await assert_every_bonus_booked(campaign_id)) == 2
    await assert_ledger_sound()


async def test_the_day_limit_counts_the_days_boosted_sales(client: httpx.AsyncClient, team: ch.Ops) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    campaign_id = await live(client, team, doubling(per_member_limit=5, per_member_daily_limit=1))

    first = (await sale(client, merchant, member, 1000)).json()
    second = (await sale(client, merchant, member, 1000)).json()  # before the first is booked

    assert (first["points"], second["points"]) == (20, 10)
    await run_jobs()
    assert [s.id for s in await assert_every_bonus_booked(campaign_id)] == [first["id"]]


async def test_a_sale_refunded_before_its_booking_is_booked_and_taken_back(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    campaign_id = await live(client, team, doubling())
    bought = (await sale(client, merchant, member, 1000)).json()

    await refund(client, merchant, bought["id"])  # before any listener ran
    await sale_listener.on_sale_refunded(bought["id"])  # the refund's listener first: nothing booked yet
    await run_jobs()

    payout = await CampaignPayout.get(campaign_id=campaign_id, member_id=member_id)
    assert payout.reversed_at is not None  # booked from the recorded decision, then taken back
    assert await balance(client, member) == 0
    campaign = await Campaign.get(id=campaign_id)
    assert (campaign.spent_count, campaign.spent_fen) == (1, 10)  # the budget keeps what was granted
    assert (await sale(client, merchant, member, 1000)).json()["points"] == 10  # the member's one bonus
    await assert_ledger_sound()


async def test_sales_fall_through_to_the_next_multiplier_when_the_best_runs_out_concurrently(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    shoppers = [(await joined_member(client))[0] for _ in range(3)]
    tripling = await live(
        client,
        team,
        live_body({"type": "multiplier", "multiplier_percent": 300}, per_member_limit=10, budget_count=3),
    )
    doubling_ = await live(client, team, doubling(per_member_limit=10))

    # Each shopper's four sales go together with everybody else's: the same members' sales wait for each
    # other (member lock), the campaigns' budget rows are contended, and no sale fails.
    sold = await concurrent_sales(client, merchant, shoppers * 4, 1000)

    assert sorted(s["points"] for s in sold) == [20] * 9 + [30] * 3
    campaign = await Campaign.get(id=tripling)
    assert (campaign.spent_count, campaign.status.value) == (3, "ended")
    await run_jobs()
    assert len(await assert_every_bonus_booked(tripling)) == 3
    assert len(await assert_every_bonus_booked(doubling_)) == 9
    await assert_ledger_sound()
