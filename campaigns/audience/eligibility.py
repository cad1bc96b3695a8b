"""Who may take part in a campaign, in the form the flash engine loads into Redis.

The grab script evaluates eligibility from three things loaded at preheat:

* an optional set of eligible member ids (`{campaign:<id>}:eligible`, used when `restricted` is set),
* two member-id watermarks: ids are allocated in registration order, so "registered in the last N
  minutes" is `id > max_member` and "new members only" is `id >= min_member`, refreshed by the tick,
* the blocklist (`{campaign:<id>}:blocked`), kept current when ops block or unblock a member.

The eligible set is the intersection of the sources in `_SOURCES`: the campaign's explicit audience
list, the members of any of the targeted tiers, the members holding every targeted tag and, for a flash
campaign limited to grids, the members whose home grid is one of them (all three from loyalty's member
pool, joined members only). `criteria(campaign)` is what every rule reads: the audience, plus the grids
of a flash campaign (for the other types grids say which merchants a campaign covers, not who joins).
Tiers, tags and home grids are read at preheat and followed after:
loyalty tells `campaigns.flash.audience` when a member's tier or tags change, and it puts the member
into the loaded campaigns' sets or takes them out (a whole tag import reloads the sets).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.core.sql import column
from campaigns.models import AudienceMember, Campaign, CampaignType
from loyalty import members as loyalty_members
from loyalty.models import Member, Tier

SEGMENT_BATCH = 5000
TIERS = frozenset(t.value for t in Tier)

# Audience criteria without a data source yet, with what is missing (none since loyalty feeds tiers
# and tags; kept for criteria to come).
UNSUPPORTED_CRITERIA: dict[str, str] = {}

EligibleSource = Callable[[Campaign], Awaitable[set[int]]]


class _Targeted(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def grid_ids(self) -> list[int]: ...

    @property
    def audience(self) -> dict[str, Any]: ...


def criteria(campaign: _Targeted) -> dict[str, Any]:
    """Who may take part: the campaign's audience and, for a flash campaign, its grids (`grids`)."""
    if campaign.type == CampaignType.FLASH and campaign.grid_ids:
        return {**campaign.audience, "grids": [int(g) for g in campaign.grid_ids]}
    return campaign.audience


async def _audience_list(campaign: Campaign) -> set[int]:
    ids = await column(AudienceMember.filter(campaign_id=campaign.id).values_list("member_id", flat=True))
    return {int(i) for i in ids}


async def _segment(
    *, tiers: list[Tier] | None = None, tags: list[str] | None = None, grids: list[int] | None = None
) -> set[int]:
    members: set[int] = set()
    async for batch in loyalty_members.members_in_segment(
        tiers=tiers or (), tags=tags or (), grids=grids or (), batch=SEGMENT_BATCH
    ):
        members.update(batch)
    return members


async def _tiers(campaign: Campaign) -> set[int]:
    """Joined members in any of the campaign's tiers."""
    return await _segment(tiers=[Tier(t) for t in campaign.audience["tiers"] if t in TIERS])


async def _tags(campaign: Campaign) -> set[int]:
    """Joined members holding every one of the campaign's tags."""
    return await _segment(tags=list(campaign.audience["tags"]))


async def _grids(campaign: Campaign) -> set[int]:
    """Joined members whose home grid is one of the flash campaign's grids."""
    return await _segment(grids=criteria(campaign).get("grids") or [])


# Each restricting criterion and the source of the members it admits; eligible = their intersection.
_SOURCES: dict[str, EligibleSource] = {
    "member_list": _audience_list,
    "tiers": _tiers,
    "tags": _tags,
    "grids": _grids,
}


def unsupported(audience: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, why) for each criterion the campaign uses that nothing can evaluate."""
    out = [(f"audience.{name}", why) for name, why in UNSUPPORTED_CRITERIA.items() if audience.get(name)]
    unknown = [t for t in audience.get("tiers") or () if t not in TIERS]
    if unknown:
        out.append(("audience.tiers", f"unknown tiers {unknown}: the tiers are {sorted(TIERS)}"))
    return out


def follows_segments(audience: dict[str, Any]) -> bool:
    """Whether the eligible set depends on members' tiers, tags or home grids (which change while a
    campaign runs)."""
    return bool(audience.get("tiers") or audience.get("tags") or audience.get("grids"))


def in_eligible_set(audience: dict[str, Any], member: Member, listed: bool, tags: frozenset[str]) -> bool:
    """Whether `eligible_member_ids` would include this member (the set the grab script checks)."""
    if audience.get("member_list") and not listed:
        return False
    if follows_segments(audience) and member.joined_at is None:
        return False
    if audience.get("tiers") and member.tier not in audience["tiers"]:
        return False
    if audience.get("grids") and member.home_grid_id not in audience["grids"]:
        return False
    return not (audience.get("tags") and not set(audience["tags"]) <= tags)


def restricted(audience: dict[str, Any]) -> bool:
    """Whether only an explicit set of members may take part."""
    return any(audience.get(name) for name in _SOURCES)


async def eligible_member_ids(campaign: Campaign) -> set[int] | None:
    """The members who may take part, or None when the audience is not restricted to a set."""
    result: set[int] | None = None
    targeted = criteria(campaign)
    for name, source in _SOURCES.items():
        if targeted.get(name):
            members = await source(campaign)
            result = members if result is None else result & members
    return result


async def newest_member_before(cutoff: datetime) -> int:
    """The largest member id registered before `cutoff` (0 when none): a registration watermark."""
    rows = await column(
        Member.filter(created_at__lt=cutoff).order_by("-id").limit(1).values_list("id", flat=True)
    )
    return int(rows[0]) if rows else 0


async def watermarks(audience: dict[str, Any], now: datetime) -> tuple[int | None, int | None]:
    """(min_member, max_member): ids below the first or above the second may not take part."""
    min_member = max_member = None
    minutes = int(audience.get("exclude_registered_within_minutes") or 0)
    if minutes:
        max_member = await newest_member_before(now - timedelta(minutes=minutes))
    if audience.get("new_members_only"):
        days = int(audience.get("new_member_days") or 30)
        min_member = await newest_member_before(now - timedelta(days=days)) + 1
    return min_member, max_member


def admits(
    audience: dict[str, Any], member: Member, now: datetime, listed: bool, tags: frozenset[str] = frozenset()
) -> bool:
    """Whether a member belongs to the audience (the same rules as the grab script, from the database):
    `listed` says whether the member is on the campaign's audience list, `tags` are the member's tags."""
    if unsupported(audience) or not in_eligible_set(audience, member, listed, tags):
        return False
    minutes = int(audience.get("exclude_registered_within_minutes") or 0)
    if minutes and member.created_at > now - timedelta(minutes=minutes):
        return False
    days = int(audience.get("new_member_days") or 30)
    return not (audience.get("new_members_only") and member.created_at < now - timedelta(days=days))


def uses_tags(audience: dict[str, Any]) -> bool:
    """Whether checking this audience needs the member's tags."""
    return bool(audience.get("tags"))


async def member_tags(member_id: int) -> frozenset[str]:
    """The member's targeting tags (one query)."""
    return (await loyalty_members.member_segments(member_id)).tags
