"""Flash wins become loyalty vouchers: the reward's benefit is checked at submission and approval, one
voucher per win is issued in the transaction that persists the win, and a refusal is audited."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.models import AuditEntry
from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from campaigns.flash.keys import k
from campaigns.flash.persistence import Win, persist_wins, write_missing
from campaigns.models import FlashWin
from loyalty.models import Benefit, BenefitStatus, PointsAccount, Voucher
from tests.campaigns import support as ch
from tests.loyalty.support import assert_ledger_sound


async def _submit(
    client: httpx.AsyncClient, team: ch.Ops, reward: dict[str, object], **kw: object
) -> httpx.Response:
    created = await ch.create(client, team.author, ch.flash_body(reward=reward, **kw))
    return await client.post(f"/ops/v1/campaigns/{created['id']}/submit", headers=team.author)


@pytest.mark.parametrize(
    "case",
    ["missing", "unknown", "inactive", "too_little_stock", "limit_too_low", "expires_first"],
)
async def test_the_reward_must_name_a_benefit_that_covers_the_stock(
    client: httpx.AsyncClient, team: ch.Ops, case: str
) -> None:
    reward: dict[str, object] = {"kind": "voucher", "title": "Latte", "value_fen": 1600, "cost_fen": 100}
    benefit_id = await ch.benefit(stock=50, per_member_limit=1)
    if case == "missing":
        # A body whose reward names no benefit reaches the service unchanged (not through ch.create).
        body = ch.flash_body(stock=10, reward=reward)
        created = await client.post("/ops/v1/campaigns", json=body, headers=team.author)
        refused = await client.post(f"/ops/v1/campaigns/{created.json()['id']}/submit", headers=team.author)
    else:
        if case == "unknown":
            benefit_id += 1000
        elif case == "inactive":
            await Benefit.filter(id=benefit_id).update(status=BenefitStatus.PAUSED)
        elif case == "expires_first":
            await Benefit.filter(id=benefit_id).update(
                valid_days=None, valid_until=utcnow() + timedelta(minutes=30)
            )
        stock = 51 if case == "too_little_stock" else 10
        limit = 2 if case == "limit_too_low" else 1
        refused = await _submit(client, team, reward | {"benefit_id": benefit_id}, stock=stock, limit=limit)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "campaign.reward_invalid"
    assert refused.json()["errors"][0]["field"] == "config.reward.benefit_id"


async def test_each_win_is_one_voucher_and_takes_benefit_stock(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    benefit_id = await ch.benefit(stock=30, per_member_limit=2)
    reward = {
        "kind": "voucher",
        "title": "Latte",
        "value_fen": 1600,
        "cost_fen": 100,
        "benefit_id": benefit_id,
    }
    campaign_id = await ch.live_flash(client, team, stock=20, limit=2, reward=reward)
    crowd = await ch.members(15)
    answers = await asyncio.gather(*(ch.grab(client, campaign_id, h) for _, h in crowd for _ in range(2)))
    assert Counter(a.json()["outcome"] for a in answers)["won"] == 20
    await ch.drain(campaign_id)
    # The persister and a late write-behind of the same wins issue nothing twice.
    assert await ch.drain(campaign_id) == 0
    assert await ch.assert_vouchers_match_wins(campaign_id) == 20
    assert (await Benefit.get(id=benefit_id)).stock_left == 10
    # "My wins" names the voucher each win became.
    winner = (await FlashWin.filter(campaign_id=campaign_id).order_by("slot").first()).member_id  # type: ignore[union-attr]
    mine = (await client.get("/mp/v1/me/campaign-wins", headers=dict(crowd)[winner])).json()["items"]
    vouchers = {v.source_reference: v.id for v in await Voucher.filter(member_id=winner)}
    assert mine and [w["voucher_id"] for w in mine] == [vouchers[w["ticket_id"]] for w in mine]


async def test_a_refused_voucher_keeps_the_win_and_is_audited(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    benefit_id = await ch.benefit(stock=10)
    reward = {
        "kind": "voucher",
        "title": "Latte",
        "value_fen": 1600,
        "cost_fen": 100,
        "benefit_id": benefit_id,
    }
    campaign_id = await ch.live_flash(client, team, stock=5, reward=reward)
    await Benefit.filter(id=benefit_id).update(status=BenefitStatus.PAUSED)  # ops paused it mid-sale
    crowd = await ch.members(3)
    for _, headers in crowd:
        assert (await ch.grab(client, campaign_id, headers)).json()["outcome"] == "won"
    await ch.drain(campaign_id)
    assert await FlashWin.filter(campaign_id=campaign_id).count() == 3
    refusals = await AuditEntry.filter(action="flash.voucher_refused", target_id=str(campaign_id))
    assert sorted(r.after["member_id"] for r in refusals) == sorted(m for m, _ in crowd)
    assert {r.after["reason"] for r in refusals} == {"benefit.unavailable"}
    assert await get_redis().hget(k(campaign_id, "outcomes"), "voucher_refused") == b"3"


async def test_a_points_reward_credits_each_win_once_through_the_ledger(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    reward = {"kind": "points", "title": "500 points", "points": 500, "cost_fen": 50}
    campaign_id = await ch.live_flash(client, team, stock=4, limit=2, reward=reward)
    crowd = await ch.members(3)
    await PointsAccount.bulk_create([PointsAccount(member_id=m) for m, _ in crowd])
    answers = [await ch.grab(client, campaign_id, h, key=f"{m}-{n}") for m, h in crowd for n in range(2)]
    won = Counter(
        m
        for (m, _), a in zip([c for c in crowd for _ in range(2)], answers, strict=True)
        if a.json()["outcome"] == "won"
    )
    assert sum(won.values()) == 4
    await ch.drain(campaign_id)
    assert await ch.drain(campaign_id) == 0  # delivered again: nothing credited twice
    balances = dict(await PointsAccount.filter(member_id__in=list(won)).values_list("member_id", "balance"))
    assert balances == {m: 500 * n for m, n in won.items()}
    assert await Voucher.filter(source_reference__startswith=f"{campaign_id}-").count() == 0
    some_winner = next(iter(won))
    mine = (await client.get("/mp/v1/me/campaign-wins", headers=dict(crowd)[some_winner])).json()["items"]
    assert mine and {w["voucher_id"] for w in mine} == {None}  # points, not vouchers
    await assert_ledger_sound()


def _wins(campaign_id: int, members: list[int], per_member: int) -> list[Win]:
    """Wins as the grab script would record them: slots in order, each member's sequence 1..per_member."""
    out = []
    for sequence in range(1, per_member + 1):
        for member in members:
            slot = len(out) + 1
            out.append(
                Win(campaign_id, member, slot, sequence, 20_000, sequence, f"{campaign_id}-1-{slot}", 0, 1)
            )
    return out


async def test_persister_and_write_behind_racing_issue_each_voucher_once(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    benefit_id = await ch.benefit(stock=1000, per_member_limit=2)
    reward = {
        "kind": "voucher",
        "title": "Latte",
        "value_fen": 1600,
        "cost_fen": 100,
        "benefit_id": benefit_id,
    }
    campaign_id = await ch.live_flash(client, team, stock=400, limit=2, reward=reward)
    members = [m for m, _ in await ch.members(200)]
    wins = _wins(campaign_id, members, 2)
    # The worker's batches and the API processes' write-behind overlap, in other orders, all at once.
    batches = [wins[:250], wins[150:], list(reversed(wins[100:300])), wins[::3], wins]
    await asyncio.gather(*(persist_wins(batch) for batch in batches), write_missing(wins[::2]))
    assert await FlashWin.filter(campaign_id=campaign_id).count() == 400
    assert await ch.assert_vouchers_match_wins(campaign_id) == 400
    seqs = Counter(await Voucher.filter(member_id__in=members).values_list("member_id", flat=True))
    assert set(seqs.values()) == {2}
    assert (await Benefit.get(id=benefit_id)).stock_left == 600


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_delivery_order_gives_one_voucher_per_win(
    client: httpx.AsyncClient, team: ch.Ops, data: st.DataObject
) -> None:
    """Wins delivered in any batches, repeated and reordered, through either path: vouchers = wins."""
    campaign_id = await ch.live_flash(client, team, stock=12, limit=3)
    members = [m for m, _ in await ch.members(4)]
    wins = _wins(campaign_id, members, 3)
    deliveries = data.draw(
        st.lists(st.tuples(st.booleans(), st.lists(st.sampled_from(wins), max_size=12)), max_size=6)
    )
    for through_write_behind, batch in deliveries:
        unique = list({w.ticket_id: w for w in batch}.values())
        await (write_missing(unique) if through_write_behind else persist_wins(unique))
    await persist_wins(wins)  # the stream is drained in the end
    assert await ch.assert_vouchers_match_wins(campaign_id) == 12
