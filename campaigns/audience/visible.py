"""What a member sees of campaigns: published ones whose audience admits them, and those live at a store."""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import Q, Subquery

from app.core.pagination import PageParams, paginate
from app.core.sql import column
from campaigns.audience import eligibility
from campaigns.errors import CampaignNotFound
from campaigns.lifecycle.table import PUBLISHED
from campaigns.models import AudienceMember, Campaign, CampaignMerchant, CampaignStatus
from loyalty.models import Member
from merchants.models import Merchant


async def visible_page(
    member: Member, params: PageParams, now: datetime, *, merchant_id: int | None
) -> tuple[list[Campaign], str | None]:
    """Published, not yet ended campaigns the member is eligible for, newest first."""
    qs = Campaign.filter(
        status__in=[CampaignStatus.APPROVED, CampaignStatus.LIVE, CampaignStatus.PAUSED], ends_at__gt=now
    )
    if merchant_id is not None:
        qs = qs.filter(
            id__in=Subquery(CampaignMerchant.filter(merchant_id=merchant_id).values("campaign_id"))
        )
    # Eligibility is evaluated per row, so a page may hold fewer than `limit`; the cursor still advances.
    rows, cursor = await paginate(qs, params)
    listed = set(
        await AudienceMember.filter(member_id=member.id, campaign_id__in=[c.id for c in rows]).values_list(
            "campaign_id", flat=True
        )
    )
    tags = (
        await eligibility.member_tags(member.id)
        if any(eligibility.uses_tags(c.audience) for c in rows)
        else frozenset[str]()
    )
    shown = [
        c for c in rows if eligibility.admits(eligibility.criteria(c), member, now, c.id in listed, tags)
    ]
    return shown, cursor


async def get_visible(member: Member, campaign_id: int, now: datetime) -> Campaign:
    """A published campaign the member may see (404 otherwise, so drafts do not leak)."""
    campaign = await Campaign.get_or_none(id=campaign_id, status__in=list(PUBLISHED))
    if campaign is None:
        raise CampaignNotFound("campaign not found")
    listed = await AudienceMember.exists(campaign_id=campaign_id, member_id=member.id)
    uses_tags = eligibility.uses_tags(campaign.audience)
    tags = await eligibility.member_tags(member.id) if uses_tags else frozenset[str]()
    if campaign.status != CampaignStatus.ENDED and not eligibility.admits(
        eligibility.criteria(campaign), member, now, listed, tags
    ):
        raise CampaignNotFound("campaign not found")
    return campaign


async def live_at_merchant(merchant_id: int, now: datetime) -> list[Campaign]:
    """Campaigns live now at a merchant: it takes part or funds them, or they cover its grid without
    naming merchants. Soonest to end first."""
    live = Campaign.filter(status=CampaignStatus.LIVE, starts_at__lte=now, ends_at__gt=now)
    named = await live.filter(
        Q(id__in=Subquery(CampaignMerchant.filter(merchant_id=merchant_id).values("campaign_id")))
        | Q(funder_merchant_id=merchant_id)
    )
    grid = await column(Merchant.filter(id=merchant_id).values_list("grid_id", flat=True))
    grid_id = grid[0] if grid else None
    by_grid: list[Campaign] = []
    if grid_id is not None:
        # Few campaigns run at once: the grid list (JSON) is matched here rather than in SQL.
        unnamed = await live.filter(id__not_in=Subquery(CampaignMerchant.all().values("campaign_id")))
        by_grid = [c for c in unnamed if grid_id in (c.grid_ids or [])]
    found = {c.id: c for c in named + by_grid}
    return sorted(found.values(), key=lambda c: (c.ends_at, c.id))
