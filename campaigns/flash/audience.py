"""Loaded flash campaigns follow their audience: members whose tier or tags change enter or leave the
eligible set the grab script checks, without waiting for the next preheat.

Loyalty calls its segment listeners in the transaction that changed a member's tier (an earn or its
reversal) or tags (an import, a removal, the nightly automatic tags and tier refresh). For one member,
each loaded campaign that targets tiers or tags gets the member added or removed, by the same rule as
the preheat (`eligibility.in_eligible_set`); for many members at once the set is recomputed and
swapped in whole. Both only touch a campaign still loaded (its set exists), and both compute from the
committed state, so running either twice, or late, converges on the same set.
"""

from __future__ import annotations

import logging
import secrets

from app.core.jobs import job
from app.core.redis_client import LuaScript, get_redis
from campaigns.audience import eligibility
from campaigns.flash import install as flash_install
from campaigns.flash.keys import ACTIVE_SET, PLACEHOLDER, k
from campaigns.models import AudienceMember, Campaign
from loyalty.models import Member

log = logging.getLogger("linli.campaigns")

# Add (ARGV[2] = 1) or remove a member, only while the campaign's set exists (it is loaded).
_PLACE = LuaScript(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[2] == '1' then return redis.call('SADD', KEYS[1], ARGV[1]) end
return redis.call('SREM', KEYS[1], ARGV[1])
"""
)
BUILD_TTL_MS = 600_000  # a set left half built by a crashed job goes away on its own
# Swap a freshly built set in for the loaded one, keeping its expiry; dropped if it is not loaded.
_SWAP = LuaScript(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) return 0 end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('RENAME', KEYS[2], KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
"""
)


async def _loaded_following() -> list[Campaign]:
    ids = [int(x) for x in await get_redis().smembers(ACTIVE_SET)]  # type: ignore[misc]
    campaigns = await Campaign.filter(id__in=ids).order_by("id") if ids else []
    return [c for c in campaigns if eligibility.follows_segments(eligibility.criteria(c))]


async def place_member(campaign: Campaign, member: Member) -> bool:
    """Put the member into the campaign's loaded eligible set or take them out; whether now in it."""
    listed = bool(campaign.audience.get("member_list")) and await AudienceMember.exists(
        campaign_id=campaign.id, member_id=member.id
    )
    tags = (
        await eligibility.member_tags(member.id) if eligibility.uses_tags(campaign.audience) else frozenset()
    )
    inside = eligibility.in_eligible_set(eligibility.criteria(campaign), member, listed, tags)
    await _PLACE([k(campaign.id, "eligible")], [member.id, 1 if inside else 0])
    return inside


async def reload_eligible(campaign: Campaign) -> int:
    """Recompute the campaign's whole eligible set and swap it in; its size."""
    members = sorted(await eligibility.eligible_member_ids(campaign) or ())
    fresh = k(campaign.id, f"eligible:next:{secrets.token_hex(6)}")  # its own: reloads may overlap
    async with get_redis().pipeline(transaction=False) as pipe:
        pipe.sadd(fresh, PLACEHOLDER)
        pipe.pexpire(fresh, BUILD_TTL_MS)
        flash_install.sadd_chunks(pipe, fresh, members)
        await pipe.execute()
    await _SWAP([k(campaign.id, "eligible"), fresh], [])
    return len(members)


async def segments_changed(member_id: int | None) -> None:
    """Follow a member's new tier or tags (None: reload every loaded campaign that targets them)."""
    campaigns = await _loaded_following()
    if not campaigns:
        return
    if member_id is None:
        for campaign in campaigns:
            size = await reload_eligible(campaign)
            log.info("flash audience reloaded", extra={"campaign_id": campaign.id, "members": size})
        return
    member = await Member.get_or_none(id=member_id)
    if member is None:
        return
    for campaign in campaigns:
        await place_member(campaign, member)


@job("campaigns.flash_audience_changed")
async def on_segments_changed(member_id: int | None) -> None:
    """Segment listener: loaded flash campaigns follow members' tiers and tags (safe to run twice)."""
    await segments_changed(member_id)
