"""A loaded flash campaign follows its audience: a member who becomes gold, or is tagged, after the
preheat can grab; one who drops out of the audience can no longer."""

from __future__ import annotations

import httpx

from app.core.redis_client import get_redis
from campaigns.flash import audience as flash_audience
from campaigns.flash.keys import k
from tests.campaigns import support as ch
from tests.helpers import login_operator, run_jobs
from tests.loyalty.support import active_merchant, joined_member, sale


async def eligible(campaign_id: int, member_id: int) -> bool:
    return bool(await get_redis().sismember(k(campaign_id, "eligible"), str(member_id)))  # type: ignore[misc]


async def test_a_member_who_turns_gold_after_the_preheat_can_grab(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    gold_only = await ch.live_flash(client, team, stock=5, audience={"tiers": ["gold"]})
    everyone = await ch.live_flash(client, team, stock=5)
    assert (await ch.grab(client, gold_only, member)).json()["outcome"] == "not_eligible"

    big = (await sale(client, merchant, member, 1_000_000)).json()  # 10,000 points: gold
    assert big["points"] == 10_000, big
    await run_jobs()
    assert await eligible(gold_only, member_id)
    assert (await ch.grab(client, gold_only, member)).json()["outcome"] == "won"

    refunded = await client.post(f"/merchant/v1/sales/{big['id']}/refund", headers=merchant)
    assert refunded.status_code == 200, refunded.text
    await run_jobs()
    assert not await eligible(gold_only, member_id)  # back to regular: out of the set again
    await flash_audience.segments_changed(member_id)  # delivered twice: the same set
    assert not await eligible(gold_only, member_id)
    assert await get_redis().scard(k(everyone, "eligible")) == 1  # type: ignore[misc]  # untouched


async def test_tag_imports_and_removals_reach_loaded_campaigns(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    ops = await login_operator(client, "campaign_manager")
    member, member_id = await joined_member(client)
    [(other_id, other)] = await ch.segment_members(1, tags=("payroll",))
    payroll = await ch.live_flash(client, team, stock=5, audience={"tags": ["payroll"]})
    ttl = await get_redis().pttl(k(payroll, "eligible"))
    assert await eligible(payroll, other_id) and not await eligible(payroll, member_id)

    imported = await client.post(
        "/ops/v1/members/tags/import",
        data={"tag": "payroll"},
        files={"file": ("payroll.csv", f"member_id\n{member_id}\n".encode(), "text/csv")},
        headers=ops,
    )
    assert imported.status_code == 200, imported.text
    await run_jobs()
    assert await eligible(payroll, member_id) and await eligible(payroll, other_id)
    assert 0 < await get_redis().pttl(k(payroll, "eligible")) <= ttl  # the swap kept the expiry
    assert (await ch.grab(client, payroll, member)).json()["outcome"] == "won"

    removed = await client.delete("/ops/v1/members/tags/payroll", headers=ops)
    assert removed.status_code in (200, 204), removed.text
    await run_jobs()
    assert not await eligible(payroll, member_id) and not await eligible(payroll, other_id)
    assert (await ch.grab(client, payroll, other)).json()["outcome"] == "not_eligible"
