"""Who may take part in a campaign, in the form the flash engine loads into Redis.

The grab script evaluates eligibility from three things loaded at preheat:

* an optional set of eligible member ids (`{campaign:<id>}:eligible`, used when `restricted` is set),
* two member-id watermarks: ids are allocated in registration order, so "registered in the last N
  minutes" is `id > max_member` and "new members only" is `id >= min_member`, refreshed by the tick,
* the blocklist (`{campaign:<id>}:blocked`), kept current when ops block or unblock a member.

Today the eligible set comes from the campaign's explicit audience list. Loyalty (phase 2) feeds
tiers and tags into the same set by adding a source to `_SOURCES`; until then a campaign that
targets tiers or tags cannot be submitted, because nothing could evaluate them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from campaigns.models import AudienceMember, Campaign
from campaigns.sql import column
from loyalty.models import Member

# Audience criteria without a data source yet, with what is missing.
UNSUPPORTED_CRITERIA: dict[str, str] = {
    "tiers": "member tiers are not available until loyalty provides them",
    "tags": "member tags are not available until loyalty provides them",
}

EligibleSource = Callable[[Campaign], Awaitable[set[int]]]


async def _audience_list(campaign: Campaign) -> set[int]:
    ids = await column(AudienceMember.filter(campaign_id=campaign.id).values_list("member_id", flat=True))
    return {int(i) for i in ids}


# Each restricting criterion and the source of the members it admits; eligible = their intersection.
_SOURCES: dict[str, EligibleSource] = {"member_list": _audience_list}


def unsupported(audience: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, why) for each criterion the campaign uses that nothing can evaluate yet."""
    return [(f"audience.{name}", why) for name, why in UNSUPPORTED_CRITERIA.items() if audience.get(name)]


def restricted(audience: dict[str, Any]) -> bool:
    """Whether only an explicit set of members may take part."""
    return any(audience.get(name) for name in _SOURCES)


async def eligible_member_ids(campaign: Campaign) -> set[int] | None:
    """The members who may take part, or None when the audience is not restricted to a set."""
    result: set[int] | None = None
    for name, source in _SOURCES.items():
        if campaign.audience.get(name):
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


def admits(audience: dict[str, Any], member: Member, now: datetime, listed: bool) -> bool:
    """Whether a member belongs to the audience (the same rules as the grab script, from the database)."""
    if unsupported(audience):
        return False
    if audience.get("member_list") and not listed:
        return False
    minutes = int(audience.get("exclude_registered_within_minutes") or 0)
    if minutes and member.created_at > now - timedelta(minutes=minutes):
        return False
    days = int(audience.get("new_member_days") or 30)
    return not (audience.get("new_members_only") and member.created_at < now - timedelta(days=days))
