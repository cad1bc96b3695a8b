"""The flash grab: every answer of the engine, idempotent retries, abuse limits, concurrency without
oversell, persistence into the database and the budget that ends a campaign."""

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
from campaigns.models import Campaign, CampaignStatus, FlashWin
from tests.campaigns import support as ch


async def test_won_then_limit_reached_then_sold_out(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=2, limit=1)
    (m1, h1), (m2, h2), (_, h3) = await ch.members(3)
    first = await ch.grab(client, campaign_id, h1)
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "won"
    assert first.json()["ticket_id"] == f"{campaign_id}-1-1"
    assert first.json()["sequence"] == 1
    assert (await ch.grab(client, campaign_id, h1)).json()["outcome"] == "limit_reached"
    assert (await ch.grab(client, campaign_id, h2)).json()["outcome"] == "won"
    assert (await ch.grab(client, campaign_id, h3)).json()["outcome"] == "sold_out"
    assert await ch.drain(campaign_id) == 2
    wins = await FlashWin.filter(campaign_id=campaign_id).order_by("slot")
    assert [(w.member_id, w.slot, w.sequence) for w in wins] == [(m1, 1, 1), (m2, 2, 1)]
    mine = await client.get("/mp/v1/me/campaign-wins", headers=h1)
    assert [w["ticket_id"] for w in mine.json()["items"]] == [f"{campaign_id}-1-1"]


async def test_before_the_start_nothing_is_touched(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=5, starts_in=timedelta(minutes=2))
    [(_, headers)] = await ch.members(1)
    answer = await ch.grab(client, campaign_id, headers)
    assert answer.json()["outcome"] == "not_started"
    meta = await get_redis().hmget(k(campaign_id, "meta"), ["left", "issued"])
    assert meta == [b"5", b"0"]
    assert await get_redis().xlen(k(campaign_id, "stream")) == 0


async def test_grabs_of_a_draft_or_unknown_campaign_are_not_found(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    draft = await ch.create(client, team.author, ch.flash_body())
    [(_, headers)] = await ch.members(1)
    for campaign_id in (draft["id"], 999_999):
        response = await ch.grab(client, campaign_id, headers)
        assert response.status_code == 404
        assert response.json()["code"] == "campaign.not_found"


async def test_paused_then_resumed_then_ended(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=5)
    (_, h1), (_, h2) = await ch.members(2)
    await client.post(f"/ops/v1/campaigns/{campaign_id}/pause", headers=team.author)
    assert (await ch.grab(client, campaign_id, h1)).json()["outcome"] == "paused"
    await client.post(f"/ops/v1/campaigns/{campaign_id}/resume", headers=team.author)
    assert (await ch.grab(client, campaign_id, h1)).json()["outcome"] == "won"
    response = await client.post(
        f"/ops/v1/campaigns/{campaign_id}/end", json={"reason": "stock recalled"}, headers=team.author
    )
    assert response.json()["status"] == "ended"
    runtime.reset()
    assert (await ch.grab(client, campaign_id, h2)).json()["outcome"] == "ended"


async def test_blocked_and_unlisted_members_are_not_eligible(client: httpx.AsyncClient, team: ch.Ops) -> None:
    (listed, h_listed), (blocked, h_blocked), (_, h_other) = await ch.members(3)
    campaign = await ch.create(client, team.author, ch.flash_body(stock=5, audience={"member_list": True}))
    campaign_id = campaign["id"]
    added = await client.post(
        f"/ops/v1/campaigns/{campaign_id}/audience-members",
        json={"member_ids": [listed, blocked]},
        headers=team.author,
    )
    assert added.json() == {"changed": 2, "total": 2}
    await client.post(f"/ops/v1/campaigns/{campaign_id}/submit", headers=team.author)
    await client.post(f"/ops/v1/campaigns/{campaign_id}/approve", headers=team.approver)
    await client.post(f"/ops/v1/campaigns/{campaign_id}/preheat", headers=team.author)
    response = await client.post(
        "/ops/v1/campaign-blocklist", json={"member_id": blocked, "reason": "bot"}, headers=team.author
    )
    assert response.status_code == 201, response.text
    assert (await ch.grab(client, campaign_id, h_other)).json()["outcome"] == "not_eligible"
    assert (await ch.grab(client, campaign_id, h_blocked)).json()["outcome"] == "not_eligible"
    assert (await ch.grab(client, campaign_id, h_listed)).json()["outcome"] == "won"
    unblocked = await client.delete(f"/ops/v1/campaign-blocklist/{blocked}", headers=team.author)
    assert unblocked.status_code == 204
    assert (await ch.grab(client, campaign_id, h_blocked)).json()["outcome"] == "won"


async def test_recently_registered_members_can_be_excluded(client: httpx.AsyncClient, team: ch.Ops) -> None:
    [(old, h_old)] = await ch.members(1)
    from app.core.timeutil import utcnow
    from loyalty.models import Member

    await Member.filter(id=old).update(created_at=utcnow() - timedelta(hours=2))
    [(_, h_new)] = await ch.members(1)
    campaign_id = await ch.live_flash(
        client, team, stock=5, audience={"exclude_registered_within_minutes": 30}
    )
    assert (await ch.grab(client, campaign_id, h_new)).json()["outcome"] == "not_eligible"
    assert (await ch.grab(client, campaign_id, h_old)).json()["outcome"] == "won"


async def test_same_idempotency_key_returns_the_same_answer(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=1, limit=1)
    (_, h1), (_, h2) = await ch.members(2)
    first = (await ch.grab(client, campaign_id, h1, key="press-1")).json()
    assert first["outcome"] == "won"
    lost = (await ch.grab(client, campaign_id, h2, key="press-1")).json()  # keys are per member
    assert lost["outcome"] == "sold_out"
    for _ in range(3):  # sold out now: the winner's retry still gets "won" with the same ticket
        assert (await ch.grab(client, campaign_id, h1, key="press-1")).json() == first
    assert (await ch.grab(client, campaign_id, h1, key="press-2")).json()["outcome"] == "sold_out"
    assert (await ch.grab(client, campaign_id, h2, key="press-1")).json() == lost
    assert await get_redis().xlen(k(campaign_id, "stream")) == 1
    bad = await ch.grab(client, campaign_id, h1, key="k" * 256)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_sold_out_is_answered_from_the_process_cache(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=1)
    (m1, h1), (_, h2) = await ch.members(2)
    won = (await ch.grab(client, campaign_id, h1, key="k1")).json()
    assert won["outcome"] == "won"  # stock 0: the flag is armed
    for _ in range(5):
        assert (await ch.grab(client, campaign_id, h2)).json()["outcome"] == "sold_out"
    # None of these ran the script: the engine counted only the win, this process counted the rest.
    outcomes = await get_redis().hgetall(k(campaign_id, "outcomes"))
    assert b"sold_out" not in outcomes and outcomes[b"won"] == b"1"
    assert runtime.fast_counts[(campaign_id, "sold_out")] == 5
    # The flag knows the winners, so a winner's keyed retry skips the cache and replays "won".
    while runtime.sold_out[campaign_id].winners is None:  # noqa: ASYNC110 - loaded in the background
        await asyncio.sleep(0.01)
    assert runtime.sold_out[campaign_id].winners == {m1}
    assert (await ch.grab(client, campaign_id, h1, key="k1")).json() == won
    assert (await ch.grab(client, campaign_id, h2, key="k2")).json()["outcome"] == "sold_out"
    assert runtime.fast_counts[(campaign_id, "sold_out")] == 6


async def test_member_rate_limit(
    client: httpx.AsyncClient, team: ch.Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One grab a second (GCRA, burst of one second): the second grab is limited unless a whole second
    # passed between the two, so a slow machine cannot turn this test green or red by timing.
    monkeypatch.setattr(get_settings(), "flash_member_rate", 1)  # loaded into the campaign at preheat
    campaign_id = await ch.live_flash(client, team, stock=100, limit=100)
    [(_, headers)] = await ch.members(1)
    rate = 1
    answers = [await ch.grab(client, campaign_id, headers) for _ in range(rate + 1)]
    assert [a.status_code for a in answers[:rate]] == [200] * rate
    assert answers[-1].status_code == 429
    assert answers[-1].json()["code"] == "rate_limited"
    assert int(answers[-1].headers["Retry-After"]) >= 1


async def test_2000_concurrent_grabs_for_100_stock(
    client: httpx.AsyncClient, team: ch.Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process every request comes from one address: lift the per-IP limit for this crowd.
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 0)
    campaign_id = await ch.live_flash(client, team, stock=100, limit=2)
    crowd = await ch.members(500)
    # Four presses each, all at once: 2,000 concurrent requests.
    presses = [headers for _, headers in crowd for _ in range(4)]
    answers = await asyncio.gather(*(ch.grab(client, campaign_id, h) for h in presses))
    assert {a.status_code for a in answers} == {200}
    outcomes = Counter(a.json()["outcome"] for a in answers)
    assert outcomes["won"] == 100
    assert set(outcomes) <= {"won", "sold_out", "limit_reached"}
    await ch.drain(campaign_id)
    assert await FlashWin.filter(campaign_id=campaign_id).count() == 100
    per_member = Counter(await FlashWin.filter(campaign_id=campaign_id).values_list("member_id", flat=True))
    assert max(per_member.values()) <= 2
    slots = await FlashWin.filter(campaign_id=campaign_id).values_list("slot", flat=True)
    assert sorted(slots) == list(range(1, 101))
    assert await ch.pending_in_group(campaign_id) == 0
    assert await ch.assert_vouchers_match_wins(campaign_id) == 100


async def test_an_exhausted_budget_ends_the_campaign(client: httpx.AsyncClient, team: ch.Ops) -> None:
    # 100 in stock, but the budget pays for 30 vouchers costing ¥1 each.
    campaign_id = await ch.live_flash(client, team, stock=100, budget_fen=3000)
    crowd = await ch.members(40)
    answers = await asyncio.gather(*(ch.grab(client, campaign_id, h) for _, h in crowd))
    assert Counter(a.json()["outcome"] for a in answers)["won"] == 30
    await ch.drain(campaign_id)
    campaign = await Campaign.get(id=campaign_id)
    assert campaign.status == CampaignStatus.ENDED
    assert campaign.end_reason == "budget_exhausted"
    assert (campaign.spent_count, campaign.spent_fen) == (30, 3000)
    runtime.reset()
    [(_, late)] = await ch.members(1)
    assert (await ch.grab(client, campaign_id, late)).json()["outcome"] == "ended"
    audit = await client.get(
        "/ops/v1/audit",
        params={"target_type": "campaign", "target_id": campaign_id, "action": "campaign.end"},
        headers=await ch.operator("auditor"),
    )
    assert audit.json()["items"][0]["after"] == {"status": "ended", "reason": "budget_exhausted"}


async def test_participation_shows_pending_then_persisted(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=10, limit=2)
    [(_, headers)] = await ch.members(1)
    await ch.grab(client, campaign_id, headers)
    mine = (await client.get(f"/mp/v1/campaigns/{campaign_id}/participation", headers=headers)).json()
    assert (len(mine["wins"]), mine["pending"], mine["remaining"]) == (0, 1, 1)
    await ch.drain(campaign_id)
    mine = (await client.get(f"/mp/v1/campaigns/{campaign_id}/participation", headers=headers)).json()
    assert (len(mine["wins"]), mine["pending"], mine["remaining"]) == (1, 0, 1)
    # The win is a voucher in "my vouchers", ready to show at the till.
    vouchers = (await client.get("/mp/v1/vouchers", headers=headers)).json()["items"]
    assert len(vouchers) == 1
    assert vouchers[0]["status"] == "active"
    assert mine["wins"][0]["voucher_id"] == vouchers[0]["id"]
    stock = (await client.get(f"/mp/v1/campaigns/{campaign_id}/stock", headers=headers)).json()
    assert stock == {"campaign_id": campaign_id, "stock": 10, "left": 9}


async def test_the_fast_lane_authenticates_like_every_route(client: httpx.AsyncClient, team: ch.Ops) -> None:
    campaign_id = await ch.live_flash(client, team, stock=5)
    missing = await client.post(f"/mp/v1/campaigns/{campaign_id}/grab")
    assert (missing.status_code, missing.json()["code"]) == (401, "auth.missing_token")
    forged = await client.post(
        f"/mp/v1/campaigns/{campaign_id}/grab", headers={"Authorization": "Bearer x.y.z"}
    )
    assert (forged.status_code, forged.json()["code"]) == (401, "auth.token_invalid")
    operator = await client.post(f"/mp/v1/campaigns/{campaign_id}/grab", headers=team.author)
    assert operator.status_code == 401  # an ops token is no member token
    response = await client.post("/mp/v1/auth/login", json={"code": "dev:lane-tester"})
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert (await ch.grab(client, campaign_id, headers)).json()["outcome"] == "won"
    await client.post("/mp/v1/auth/logout", headers=headers)
    revoked = await ch.grab(client, campaign_id, headers)
    assert (revoked.status_code, revoked.json()["code"]) == (401, "auth.token_revoked")
    assert revoked.headers["x-request-id"]  # the lane sits inside the request-context middleware


async def test_the_documented_route_answers_like_the_lane(client: httpx.AsyncClient, team: ch.Ops) -> None:
    from app.main import create_app

    campaign_id = await ch.live_flash(client, team, stock=5)
    [(_, headers)] = await ch.members(1)
    through_lane = (await ch.grab(client, campaign_id, headers, key="same")).json()
    # The same app without its fast lanes: the route the OpenAPI document describes answers (every request
    # and error of both paths: tests/miniprogram/test_lane_parity.py).
    plain = create_app(manage_resources=False, fast_lanes=False)
    router_only = httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://testserver")
    async with router_only:
        replay = await router_only.post(
            f"/mp/v1/campaigns/{campaign_id}/grab", headers=headers | {"Idempotency-Key": "same"}
        )
    assert replay.status_code == 200
    assert replay.json() == through_lane


async def test_address_rate_limit(
    client: httpx.AsyncClient, team: ch.Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "flash_ip_rate", 1)  # loaded into the campaign at preheat
    campaign_id = await ch.live_flash(client, team, stock=10)
    crowd = await ch.members(2)
    answers = [await ch.grab(client, campaign_id, headers) for _, headers in crowd]
    assert [a.status_code for a in answers] == [200, 429]
    assert await get_redis().hget(k(campaign_id, "meta"), "issued") == b"1"  # the second never touched stock
