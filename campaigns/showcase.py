"""What the mini-program home screen shows of campaigns: live and upcoming, for the member's grid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from campaigns import eligibility
from campaigns.models import AudienceMember, Campaign, CampaignStatus
from loyalty.models import Member

# Enough candidates for a home screen even when audiences filter many out; the home shows a few.
CANDIDATES = 50


@dataclass(frozen=True)
class Showcase:
    """Campaigns running now and campaigns about to start, soonest first."""

    live: list[Campaign]
    upcoming: list[Campaign]


def _in_grid(campaign: Campaign, grid_id: int | None) -> bool:
    # A campaign without grids runs everywhere; one limited to grids shows only where the member is.
    return not campaign.grid_ids or (grid_id is not None and grid_id in campaign.grid_ids)


async def for_member(member: Member, grid_id: int | None, now: datetime, limit: int) -> Showcase:
    """The live and upcoming campaigns the member may take part in where they are (one query each way)."""
    rows = (
        await Campaign.filter(status__in=[CampaignStatus.APPROVED, CampaignStatus.LIVE], ends_at__gt=now)
        .order_by("starts_at", "id")
        .limit(CANDIDATES)
    )
    rows = [c for c in rows if _in_grid(c, grid_id)]
    restricted = [c.id for c in rows if c.audience.get("member_list")]
    listed = (
        set(
            await AudienceMember.filter(member_id=member.id, campaign_id__in=restricted).values_list(
                "campaign_id", flat=True
            )
        )
        if restricted
        else set()
    )
    eligible = [c for c in rows if eligibility.admits(c.audience, member, now, c.id in listed)]
    live = [c for c in eligible if c.starts_at <= now][:limit]
    upcoming = [c for c in eligible if c.starts_at > now][:limit]
    return Showcase(live=live, upcoming=upcoming)
