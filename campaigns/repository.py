"""Campaign queries: ops see every campaign, members only published ones they are eligible for."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from campaigns.errors import CampaignNotFound
from campaigns.models import (
    AudienceMember,
    BlockedMember,
    Campaign,
    CampaignMerchant,
    CampaignStatus,
    CampaignType,
    FlashWin,
)


async def get_campaign(campaign_id: int) -> Campaign:
    """Any campaign (ops scope)."""
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise CampaignNotFound("campaign not found")
    return campaign


async def merchant_ids(campaign_ids: Iterable[int]) -> dict[int, list[int]]:
    """The participating merchants of each campaign."""
    out: dict[int, list[int]] = {}
    rows = await CampaignMerchant.filter(campaign_id__in=list(campaign_ids)).order_by("merchant_id")
    for row in rows:
        out.setdefault(row.campaign_id, []).append(row.merchant_id)
    return out


def ops_query(
    *, status: CampaignStatus | None, type_: CampaignType | None, merchant_id: int | None
) -> QuerySet[Campaign]:
    """Campaigns filtered for the ops list."""
    qs = Campaign.all()
    if status is not None:
        qs = qs.filter(status=status)
    if type_ is not None:
        qs = qs.filter(type=type_)
    if merchant_id is not None:
        qs = qs.filter(
            id__in=Subquery(CampaignMerchant.filter(merchant_id=merchant_id).values("campaign_id"))
        )
    return qs


def merchant_live_query(merchant_id: int) -> QuerySet[Campaign]:
    """The live and upcoming campaigns a merchant takes part in (or funds)."""
    return Campaign.filter(
        Q(id__in=Subquery(CampaignMerchant.filter(merchant_id=merchant_id).values("campaign_id")))
        | Q(funder_merchant_id=merchant_id),
        status__in=[CampaignStatus.APPROVED, CampaignStatus.LIVE, CampaignStatus.PAUSED],
    )


def member_wins(member_id: int, campaign_id: int | None = None) -> QuerySet[FlashWin]:
    """The member's persisted flash wins."""
    qs = FlashWin.filter(member_id=member_id)
    return qs.filter(campaign_id=campaign_id) if campaign_id is not None else qs


def audience_list(campaign_id: int) -> QuerySet[AudienceMember]:
    """The members on a campaign's explicit audience list."""
    return AudienceMember.filter(campaign_id=campaign_id)


def blocklist() -> QuerySet[BlockedMember]:
    """Members barred from grabbing."""
    return BlockedMember.all()
