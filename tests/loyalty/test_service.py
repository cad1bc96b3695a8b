"""The public service API other domains call: earning, spending, reversing, vouchers, hooks."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tortoise.exceptions import IntegrityError

from app.core.db import transaction
from app.core.errors import ProblemError
from app.core.jobs import job
from app.core.models import AuditEntry
from app.wiring import wire
from loyalty import hooks
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import Benefit, Journal, Sale, Voucher
from loyalty.vouchers.issuing import IssueOutcome, VoucherGrant
from tests.helpers import run_jobs
from tests.loyalty.support import active_merchant, assert_ledger_sound, joined_member, sale
from tests.loyalty.test_vouchers import published_benefit


async def test_earning_twice_with_one_reference_posts_once(client: httpx.AsyncClient) -> None:
    _, member_id = await joined_member(client)

    first = await loyalty_ledger.earn_points(
        member_id, 120, source=loyalty_ledger.EarnSource.BILL_PAYMENT, reference="bill:1"
    )
    again = await loyalty_ledger.earn_points(
        member_id, 120, source=loyalty_ledger.EarnSource.BILL_PAYMENT, reference="bill:1"
    )
    concurrent = await asyncio.gather(
        *(
            loyalty_ledger.earn_points(
                member_id, 5, source=loyalty_ledger.EarnSource.CAMPAIGN, reference="checkin:1"
            )
            for _ in range(10)
        )
    )

    assert not first.replayed and again.replayed and again.journal_id == first.journal_id
    assert sum(not p.replayed for p in concurrent) == 1
    assert await loyalty_ledger.points_balance(member_id) == 125
    with pytest.raises(ProblemError) as conflict:
        await loyalty_ledger.earn_points(
            member_id, 99, source=loyalty_ledger.EarnSource.BILL_PAYMENT, reference="bill:1"
        )
    assert conflict.value.code == "points.reference_conflict"
    await assert_ledger_sound()


async def test_a_failed_spend_leaves_the_callers_transaction_usable(client: httpx.AsyncClient) -> None:
    _, member_id = await joined_member(client)
    await loyalty_ledger.earn_points(
        member_id, 10, source=loyalty_ledger.EarnSource.CAMPAIGN, reference="c:1"
    )

    async with transaction():
        with pytest.raises(ProblemError) as refused:
            await loyalty_ledger.spend_points(
                member_id, 11, purpose=loyalty_ledger.SpendPurpose.LUCKY_DRAW, reference="draw:1"
            )
        await loyalty_ledger.earn_points(
            member_id, 3, source=loyalty_ledger.EarnSource.CAMPAIGN, reference="c:2"
        )

    assert refused.value.code == "points.insufficient"
    assert await loyalty_ledger.points_balance(member_id) == 13
    assert await Journal.filter(reference="draw:1").count() == 0
    await assert_ledger_sound()


async def test_reversing_a_bill_payment_award_is_idempotent(client: httpx.AsyncClient) -> None:
    _, member_id = await joined_member(client)
    await loyalty_ledger.earn_points(
        member_id, 80, source=loyalty_ledger.EarnSource.BILL_PAYMENT, reference="bill:9"
    )

    first = await loyalty_ledger.reverse_points("bill:9", memo="biller rejected")
    again = await loyalty_ledger.reverse_points("bill:9")

    assert (first.points, first.replayed, again.replayed, again.journal_id) == (
        80,
        False,
        True,
        first.journal_id,
    )
    assert await loyalty_ledger.points_balance(member_id) == 0
    with pytest.raises(ProblemError) as missing:
        await loyalty_ledger.reverse_points("bill:404")
    assert missing.value.code == "points.journal_not_found"
    with pytest.raises(ProblemError) as reversal_of_reversal:
        await loyalty_ledger.reverse_points(first.reference)
    assert reversal_of_reversal.value.code == "points.not_reversible"
    await assert_ledger_sound()


async def test_reversing_a_spend_gives_the_points_back(client: httpx.AsyncClient) -> None:
    _, member_id = await joined_member(client)
    await loyalty_ledger.earn_points(
        member_id, 50, source=loyalty_ledger.EarnSource.CAMPAIGN, reference="c:1"
    )
    await loyalty_ledger.spend_points(
        member_id, 20, purpose=loyalty_ledger.SpendPurpose.LUCKY_DRAW, reference="draw:7"
    )

    reversal = await loyalty_ledger.reverse_points("draw:7")

    assert reversal.points == 20
    assert await loyalty_ledger.points_balance(member_id) == 50
    with pytest.raises(ProblemError) as twice_removed:
        await loyalty_ledger.reverse_points(reversal.reference)
    assert twice_removed.value.code == "points.not_reversible"
    await assert_ledger_sound()


async def test_bad_point_amounts_are_refused(client: httpx.AsyncClient) -> None:
    _, member_id = await joined_member(client)
    for bad in (0, -5, 10_000_001):
        with pytest.raises(ProblemError) as refused:
            await loyalty_ledger.earn_points(
                member_id, bad, source=loyalty_ledger.EarnSource.CAMPAIGN, reference=f"bad:{bad}"
            )
        assert refused.value.status == 422
    with pytest.raises(ProblemError) as unknown:
        await loyalty_ledger.earn_points(
            424242, 5, source=loyalty_ledger.EarnSource.CAMPAIGN, reference="nobody"
        )
    assert unknown.value.code == "member.not_found"


async def test_a_batch_of_vouchers_can_be_retried_without_duplicates(client: httpx.AsyncClient) -> None:
    member_ids = [(await joined_member(client))[1] for _ in range(3)]
    benefit_id = await published_benefit(client, stock_total=5, per_member_limit=1, price_points=0)
    grants = [VoucherGrant(m, f"flash:1:{m}") for m in member_ids]

    async with transaction():
        first = await loyalty_vouchers.issue_vouchers(benefit_id, grants)
    async with transaction():
        retried = await loyalty_vouchers.issue_vouchers(benefit_id, grants)
    extra = await loyalty_vouchers.issue_vouchers(benefit_id, [VoucherGrant(member_ids[0], "flash:2:first")])

    assert [o.outcome for o in first] == [IssueOutcome.ISSUED] * 3
    assert [o.outcome for o in retried] == [IssueOutcome.ALREADY_ISSUED] * 3
    assert [o.voucher_id for o in retried] == [o.voucher_id for o in first]
    assert [o.outcome for o in extra] == [IssueOutcome.LIMIT_REACHED]
    assert await Voucher.filter(benefit_id=benefit_id).count() == 3
    assert (await Benefit.get(id=benefit_id)).stock_left == 2


async def test_a_batch_larger_than_the_stock_issues_nothing(client: httpx.AsyncClient) -> None:
    member_ids = [(await joined_member(client))[1] for _ in range(3)]
    benefit_id = await published_benefit(client, stock_total=2, price_points=0)

    async with transaction():
        with pytest.raises(ProblemError) as sold_out:
            await loyalty_vouchers.issue_vouchers(benefit_id, [VoucherGrant(m, f"b:{m}") for m in member_ids])
        survivors = await loyalty_vouchers.issue_vouchers(benefit_id, [VoucherGrant(member_ids[0], "b:ok")])

    assert sold_out.value.code == "benefit.sold_out"
    assert [o.outcome for o in survivors] == [IssueOutcome.ISSUED]
    assert await Voucher.all().count() == 1
    assert (await Benefit.get(id=benefit_id)).stock_left == 1


async def test_concurrent_batches_respect_stock_and_limits(client: httpx.AsyncClient) -> None:
    member_ids = [(await joined_member(client))[1] for _ in range(4)]
    benefit_id = await published_benefit(client, stock_total=6, per_member_limit=2, price_points=0)

    async def batch(n: int) -> list[loyalty_vouchers.IssuedVoucher] | str:
        try:
            return await loyalty_vouchers.issue_vouchers(
                benefit_id, [VoucherGrant(m, f"c:{n}:{m}") for m in member_ids]
            )
        except ProblemError as exc:
            return exc.code

    results = await asyncio.gather(*(batch(n) for n in range(4)))

    issued = await Voucher.filter(benefit_id=benefit_id).count()
    benefit = await Benefit.get(id=benefit_id)
    assert issued == 6 - int(benefit.stock_left or 0)
    assert issued <= 6
    for member_id in member_ids:
        assert await Voucher.filter(benefit_id=benefit_id, member_id=member_id).count() <= 2
    assert all(isinstance(r, list) or r == "benefit.sold_out" for r in results), results


async def test_bill_payment_vouchers_reduce_a_bill_and_come_back_on_failure(
    client: httpx.AsyncClient,
) -> None:
    _, member_id = await joined_member(client)
    ten_off = await published_benefit(
        client,
        name="¥10 off bills",
        eligibility="bill_payment",
        face_value_fen=1000,
        min_spend_fen=5000,
        price_points=0,
    )
    percent = await published_benefit(
        client,
        name="5% off bills",
        kind="discount",
        face_value_fen=0,
        discount_percent=5,
        discount_cap_fen=800,
        eligibility="bill_payment",
        min_spend_fen=0,
        price_points=0,
    )
    till_only = await published_benefit(client, price_points=0)
    for benefit_id in (ten_off, percent, till_only):
        await loyalty_vouchers.issue_vouchers(benefit_id, [VoucherGrant(member_id, f"g:{benefit_id}")])

    offers = await loyalty_vouchers.bill_payment_vouchers(member_id, 12_000)
    small = await loyalty_vouchers.bill_payment_vouchers(member_id, 4_000)

    assert [(o.name, o.discount_fen) for o in offers] == [("¥10 off bills", 1000), ("5% off bills", 600)]
    assert [(o.name, o.discount_fen) for o in small] == [("5% off bills", 200)]

    voucher_id = offers[0].voucher_id
    used = await loyalty_vouchers.redeem_voucher_for_bill(member_id, voucher_id, 12_000, reference="bill:77")
    again = await loyalty_vouchers.redeem_voucher_for_bill(member_id, voucher_id, 12_000, reference="bill:77")
    with pytest.raises(ProblemError) as twice:
        await loyalty_vouchers.redeem_voucher_for_bill(member_id, voucher_id, 12_000, reference="bill:78")
    assert (used.discount_fen, used.payable_fen, again.replayed) == (1000, 11_000, True)
    assert twice.value.code == "voucher.used"

    reversed_ = await loyalty_vouchers.reverse_voucher_for_bill("bill:77")
    reversed_again = await loyalty_vouchers.reverse_voucher_for_bill("bill:77")
    assert reversed_.status == "reversed" and reversed_again.replayed
    assert (await loyalty_vouchers.bill_payment_vouchers(member_id, 12_000))[0].voucher_id == voucher_id

    till_voucher = await Voucher.get(benefit_id=till_only)
    with pytest.raises(ProblemError) as wrong_kind:
        await loyalty_vouchers.redeem_voucher_for_bill(
            member_id, till_voucher.id, 12_000, reference="bill:79"
        )
    assert wrong_kind.value.code == "voucher.not_valid_here"


async def test_campaign_multipliers_and_sale_listeners(client: httpx.AsyncClient) -> None:
    seen: list[tuple[int, int | None]] = []
    heard: list[int] = []

    async def undecided(sale: hooks.SaleContext) -> hooks.MultiplierDecision | None:
        return None  # no campaign of its applies: the next provider is asked

    async def double_points(sale: hooks.SaleContext) -> hooks.MultiplierDecision | None:
        seen.append((sale.member_id, sale.merchant_id))
        await sale.lock_member()
        return hooks.MultiplierDecision(
            campaign_id=7, percent=200, bonus_points=sale.bonus_for(200), cost_fen=10
        )

    async def never_asked(sale: hooks.SaleContext) -> hooks.MultiplierDecision | None:
        raise AssertionError("the first decision applies, later providers are not asked")

    @job("tests.spend_and_get")
    async def spend_and_get(sale_id: int) -> None:
        heard.append(sale_id)

    merchant, merchant_id = await active_merchant(client)
    member, member_id = await joined_member(client)
    hooks.install(earn_multipliers=[undecided, double_points, never_asked], sale_listeners=[spend_and_get])
    try:
        sold = await sale(client, merchant, member, 1000)
    finally:
        wire()
    await run_jobs(spend_and_get)

    assert sold.json()["points"] == 20
    assert seen == [(member_id, merchant_id)]
    assert heard == [sold.json()["id"]]
    recorded = await Sale.get(id=sold.json()["id"])
    assert (
        recorded.multiplier_campaign_id,
        recorded.multiplier_percent,
        recorded.bonus_points,
        recorded.bonus_cost_fen,
    ) == (7, 200, 10, 10)
    journal = await Journal.get(id=recorded.journal_id)
    assert (
        journal.settlement_fen == -10
    )  # the merchant funds the base 10 points, the campaign bonus is the bank's
    await assert_ledger_sound()


async def test_a_multiplier_decision_that_does_not_fit_the_sale_fails_the_sale(
    client: httpx.AsyncClient,
) -> None:
    async def generous(sale: hooks.SaleContext) -> hooks.MultiplierDecision | None:
        # Claims more bonus than the multiplier gives: loyalty never credits a bonus nobody backs exactly.
        return hooks.MultiplierDecision(
            campaign_id=7, percent=200, bonus_points=sale.bonus_for(200) + 1, cost_fen=0
        )

    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    hooks.install(earn_multipliers=[generous])
    try:
        refused = await sale(client, merchant, member, 1000)
    finally:
        wire()

    assert refused.status_code == 500
    assert not await Sale.exists(member_id=member_id)
    assert not await Journal.exists(member_id=member_id)
    await assert_ledger_sound()


@pytest.mark.parametrize(
    "decision",
    [
        {"multiplier_campaign_id": 7},  # a campaign without its percent, bonus and cost
        {"multiplier_campaign_id": 7, "multiplier_percent": 200, "bonus_points": 10},  # no cost
        {"multiplier_percent": 200, "bonus_points": 10, "bonus_cost_fen": 10},  # no campaign
        {"multiplier_campaign_id": 7, "multiplier_percent": 100, "bonus_points": 10, "bonus_cost_fen": 10},
        {"multiplier_campaign_id": 7, "multiplier_percent": 1100, "bonus_points": 10, "bonus_cost_fen": 10},
        {"multiplier_campaign_id": 7, "multiplier_percent": 200, "bonus_points": 0, "bonus_cost_fen": 0},
        {"multiplier_campaign_id": 7, "multiplier_percent": 200, "bonus_points": 11, "bonus_cost_fen": 10},
        {"multiplier_campaign_id": 7, "multiplier_percent": 200, "bonus_points": 10, "bonus_cost_fen": -1},
    ],
)
async def test_the_database_refuses_a_partial_or_impossible_multiplier_decision(
    client: httpx.AsyncClient, decision: dict[str, int]
) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    sold = await sale(client, merchant, member, 1000)  # 10 points
    assert sold.status_code == 201, sold.text

    with pytest.raises(IntegrityError):
        async with transaction():
            await Sale.filter(id=sold.json()["id"]).update(**decision)
    whole = {"multiplier_campaign_id": 7, "multiplier_percent": 200, "bonus_points": 10, "bonus_cost_fen": 0}
    # All four, the bonus within the sale's points: accepted.
    assert await Sale.filter(id=sold.json()["id"]).update(**whole) == 1


async def test_ops_grant_and_reverse_points_are_audited(client: httpx.AsyncClient) -> None:
    from tests.helpers import login_operator

    admin = await login_operator(client)
    _, member_id = await joined_member(client)
    headers = {**admin, "Idempotency-Key": "grant-1"}

    granted = await client.post(
        f"/ops/v1/members/{member_id}/points",
        json={"points": 200, "reason": "complaint 118"},
        headers=headers,
    )
    replay = await client.post(
        f"/ops/v1/members/{member_id}/points",
        json={"points": 200, "reason": "complaint 118"},
        headers=headers,
    )
    reversed_ = await client.post(
        "/ops/v1/points/reversals",
        json={"reference": granted.json()["reference"], "reason": "typo"},
        headers=admin,
    )

    assert granted.status_code == 201 and replay.json() == granted.json()
    assert reversed_.status_code == 201 and reversed_.json()["points"] == 200
    assert await AuditEntry.filter(action__in=["points.grant", "points.reverse"]).count() == 2
    manager = await login_operator(client, "campaign_manager")
    forbidden = await client.post(
        f"/ops/v1/members/{member_id}/points", json={"points": 1, "reason": "nope"}, headers=manager
    )
    assert forbidden.status_code == 403
    await assert_ledger_sound()


async def test_merchant_funded_points_are_owed_by_that_merchant(client: httpx.AsyncClient) -> None:
    _, merchant_id = await active_merchant(client)
    _, member_id = await joined_member(client)

    posting = await loyalty_ledger.earn_points(
        member_id,
        40,
        source=loyalty_ledger.EarnSource.CAMPAIGN,
        reference="mgm:1",
        merchant_id=merchant_id,
        funded_by_merchant=True,
    )
    with pytest.raises(ProblemError) as unknown:
        await loyalty_ledger.earn_points(
            member_id, 5, source=loyalty_ledger.EarnSource.CAMPAIGN, reference="x", merchant_id=999
        )

    assert (await Journal.get(id=posting.journal_id)).settlement_fen == -40
    assert unknown.value.code == "merchant.not_found"
    await assert_ledger_sound()
