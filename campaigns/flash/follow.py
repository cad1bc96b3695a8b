"""The flash engine follows the campaign lifecycle: preheat on approval, unload or re-state on other moves."""

from __future__ import annotations

from datetime import timedelta

from app.core.config import get_settings
from app.core.db import on_commit
from app.core.jobs import enqueue
from app.core.timeutil import utcnow
from campaigns.flash import install as flash_install
from campaigns.flash.tasks import preheat
from campaigns.models import Campaign, CampaignStatus, CampaignType


async def on_transition(campaign: Campaign, target: CampaignStatus) -> None:
    """Keep a flash campaign's Redis state in step with a transition (inside the transition's transaction)."""
    if campaign.type != CampaignType.FLASH:
        return
    campaign_id = campaign.id
    if target == CampaignStatus.APPROVED:
        lead = timedelta(seconds=get_settings().flash_preheat_seconds)
        if campaign.starts_at - lead <= utcnow():
            await enqueue(preheat, campaign_id)
        return

    async def sync() -> None:
        if target in (CampaignStatus.PENDING_APPROVAL, CampaignStatus.CANCELLED, CampaignStatus.DRAFT):
            await flash_install.unload(campaign_id)
        await flash_install.sync_state(campaign_id, target)

    if not on_commit(sync):
        await sync()
