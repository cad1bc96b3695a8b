"""Campaigns targeting loyalty tiers and tags: submitted, listed only to eligible members, and loaded
into the flash engine's audience set at preheat (the grab script and the lists agree)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.auth.tokens import Audience, Principal
from app.core.timeutil import utcnow
from campaigns.audience import eligibility
from campaigns.management import service
from campaigns.models import Campaign
from campaigns.schemas import CampaignIn
from loyalty.models import Member, MemberTag, Voucher
from tests.campaigns import support as ch


async def _listed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[int]:
    page = await client.get("/mp/v1/campaigns", headers=headers)
    assert page.status_code == 200, page.text
    return [c["id"] for c in page.json()["items"]]


async def test_gold_payroll_campaign_is_listed_and_grabbed_only_by_its_audience(
    client: httpx.AsyncClient, team: ch.Ops
) -> None:
    [(target, h_target)] = await ch.segment_members(1, tier="gold", tags=("payroll", "mortgage"))
    [(_, h_gold)] = await ch.segment_members(1, tier="gold")
    [(_, h_payroll)] = await ch.segment_members(1, tier="silver", tags=("payroll",))
    [(_, h_unjoined)] = await ch.segment_members(1, tier="gold", tags=("payroll",), joined=False)
    cid = await ch.live_flash(client, team, stock=10, audience={"tiers": ["gold"], "tags": ["payroll"]})
    assert await _listed(client, h_target) == [cid]
    for outsider in (h_gold, h_payroll, h_unjoined):
        assert await _listed(client, outsider) == []
        assert (await client.get(f"/mp/v1/campaigns/{cid}", headers=outsider)).status_code == 404
        assert (await ch.grab(client, cid, outsider)).json()["outcome"] == "not_eligible"
    assert (await client.get(f"/mp/v1/campaigns/{cid}", headers=h_target)).status_code == 200
    assert (await ch.grab(client, cid, h_target)).json()["outcome"] == "won"
    await ch.drain(cid)
    assert await ch.assert_vouchers_match_wins(cid) == 1
    audience = (await client.get(f"/ops/v1/campaigns/{cid}", headers=team.author)).json()["audience"]
    assert (audience["tiers"], audience["tags"]) == (["gold"], ["payroll"])
    assert await Voucher.filter(member_id=target).count() == 1


async def test_any_of_several_tiers(client: httpx.AsyncClient, team: ch.Ops) -> None:
    gold = await ch.segment_members(3, tier="gold")
    silver = await ch.segment_members(3, tier="silver")
    regular = await ch.segment_members(3)
    cid = await ch.live_flash(client, team, stock=100, audience={"tiers": ["silver", "gold"]})
    answers = await asyncio.gather(*(ch.grab(client, cid, h) for _, h in gold + silver + regular))
    assert Counter(a.json()["outcome"] for a in answers) == {"won": 6, "not_eligible": 3}


AUTHOR = Principal(Audience.OPERATOR, 1, "author", ("campaign_manager",))
TIERS = st.sampled_from(["regular", "silver", "gold"])
TAGS = st.sets(st.sampled_from(["payroll", "mortgage", "card"]), max_size=3)
AUDIENCES = st.fixed_dictionaries(
    {
        "tiers": st.lists(TIERS, max_size=2, unique=True),
        "tags": st.lists(st.sampled_from(["payroll", "card"]), max_size=2, unique=True),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=st.lists(st.tuples(TIERS, TAGS, st.booleans()), min_size=1, max_size=8),
    audience=AUDIENCES,
)
async def test_the_engine_set_and_the_lists_agree(
    client: httpx.AsyncClient, people: list[tuple[str, set[str], bool]], audience: dict[str, Any]
) -> None:
    """Whatever the members and the audience, the set loaded at preheat holds exactly the members the
    member-facing rule admits."""
    await MemberTag.all().delete()
    await Member.all().delete()
    ids = []
    for tier, tags, joined in people:
        [(member_id, _)] = await ch.segment_members(1, tier=tier, tags=tuple(tags), joined=joined)
        ids.append(member_id)
    now = utcnow()
    body = CampaignIn.model_validate(
        {
            "name": "property",
            "starts_at": now + timedelta(hours=1),
            "ends_at": now + timedelta(hours=2),
            "audience": audience,
            "config": {"type": "multiplier", "multiplier_percent": 150},
        }
    )
    campaign = await service.create(AUTHOR, body)
    loaded = await eligibility.eligible_member_ids(await Campaign.get(id=campaign.id))
    admitted = set()
    for member in await Member.filter(id__in=ids):
        tags = await eligibility.member_tags(member.id)
        if eligibility.admits(campaign.audience, member, now, False, tags):
            admitted.add(member.id)
    if not (audience["tiers"] or audience["tags"]):
        assert loaded is None  # unrestricted: no set, everybody is admitted
        assert admitted == set(ids)
    else:
        assert loaded == admitted
