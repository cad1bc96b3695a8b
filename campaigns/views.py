"""Response bodies built from campaign rows."""

from __future__ import annotations

from campaigns import repository
from campaigns.models import Campaign, CampaignStatus
from campaigns.schemas import Audience, CampaignOut, CampaignPublicOut


def _revealed_seed(campaign: Campaign) -> str | None:
    return campaign.draw_seed if campaign.status == CampaignStatus.ENDED else None


async def campaign_out(campaign: Campaign, merchants: list[int] | None = None) -> CampaignOut:
    """The ops view of a campaign."""
    if merchants is None:
        merchants = (await repository.merchant_ids([campaign.id])).get(campaign.id, [])
    return CampaignOut(
        id=campaign.id,
        type=campaign.type,
        status=campaign.status,
        name=campaign.name,
        description=campaign.description,
        banner_url=campaign.banner_url,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        grid_ids=campaign.grid_ids,
        merchant_ids=merchants,
        categories=campaign.categories,
        audience=Audience.model_validate(campaign.audience),
        per_member_limit=campaign.member_limit,
        per_member_daily_limit=campaign.member_day_limit or None,
        budget_count=campaign.budget_count,
        budget_fen=campaign.budget_fen,
        spent_count=campaign.spent_count,
        spent_fen=campaign.spent_fen,
        funder=campaign.funder,
        funder_merchant_id=campaign.funder_merchant_id,
        config=campaign.config,
        created_by=campaign.created_by,
        updated_by=campaign.updated_by,
        submitted_by=campaign.submitted_by,
        approved_by=campaign.approved_by,
        approved_at=campaign.approved_at,
        rejection_reason=campaign.rejection_reason,
        end_reason=campaign.end_reason,
        draw_commitment=campaign.draw_commitment,
        draw_seed=_revealed_seed(campaign),
        version=campaign.version,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


async def public_out(campaigns: list[Campaign]) -> list[CampaignPublicOut]:
    """The member and store view of campaigns."""
    merchants = await repository.merchant_ids(c.id for c in campaigns)
    return [
        CampaignPublicOut(
            id=c.id,
            type=c.type,
            status=c.status,
            name=c.name,
            description=c.description,
            banner_url=c.banner_url,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            merchant_ids=merchants.get(c.id, []),
            categories=c.categories,
            per_member_limit=c.member_limit,
            per_member_daily_limit=c.member_day_limit or None,
            config=c.config,
            draw_commitment=c.draw_commitment,
            draw_seed=_revealed_seed(c),
        )
        for c in campaigns
    ]
