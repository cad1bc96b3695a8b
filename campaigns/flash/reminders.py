"""Flash "remind me": recorded per member, sent once a few minutes before the sale opens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arq.cron import CronJob, cron
from tortoise.exceptions import IntegrityError

from app.core.config import get_settings
from app.core.db import transaction
from app.core.jobs import Job, enqueue, job
from app.core.timeutil import BUSINESS_TZ, utcnow
from campaigns.audience import visible
from campaigns.errors import AlreadyOpen, NotFlash
from campaigns.models import Campaign, CampaignStatus, CampaignType, FlashReminder
from loyalty import messages
from loyalty.models import Member, MessageKind

BATCH = 500
REMINDABLE = (CampaignStatus.APPROVED,)


def _lead() -> timedelta:
    return timedelta(minutes=get_settings().message_flash_remind_minutes)


async def remind_me(member: Member, campaign_id: int, now: datetime | None = None) -> FlashReminder:
    """Record the member's "remind me" on a flash campaign they may see that has not opened (once)."""
    now = now or utcnow()
    campaign = await visible.get_visible(member, campaign_id, now)
    if campaign.type != CampaignType.FLASH:
        raise NotFlash("only flash campaigns have reminders")
    if campaign.starts_at <= now or campaign.status != CampaignStatus.APPROVED:
        raise AlreadyOpen("the flash sale has opened already")
    try:
        async with transaction():
            reminder = await FlashReminder.create(campaign_id=campaign.id, member_id=member.id)
            if campaign.starts_at - _lead() <= now:  # opening within the lead: remind at once
                await enqueue(send_reminders, campaign.id)
            return reminder
    except IntegrityError:  # asked before
        return await FlashReminder.get(campaign_id=campaign.id, member_id=member.id)


async def _send_batch(campaign: Campaign, now: datetime) -> int:
    due = (
        await FlashReminder.filter(campaign_id=campaign.id, sent_at__isnull=True).order_by("id").limit(BATCH)
    )
    opens_at = campaign.starts_at.astimezone(BUSINESS_TZ).strftime("%H:%M")
    for reminder in due:
        await messages.send(
            reminder.member_id,
            MessageKind.FLASH_REMINDER,
            {"campaign": campaign.name, "opens_at": opens_at},
            f"flash_reminder:{campaign.id}:{reminder.member_id}",
            now=now,
        )
        await FlashReminder.filter(id=reminder.id, sent_at__isnull=True).update(sent_at=now)
    return len(due)


@job("campaigns.send_flash_reminders")
async def send_reminders(campaign_id: int, at: str | None = None) -> int:
    """Send the reminders of a flash campaign opening within the lead, each once (safe to run twice)."""
    now = datetime.fromisoformat(at) if at else utcnow()
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None or campaign.status not in REMINDABLE or not now < campaign.starts_at <= now + _lead():
        return 0
    sent = 0
    while batch := await _send_batch(campaign, now):
        sent += batch
    return sent


async def send_due(now: datetime | None = None) -> int:
    """Send the reminders of every approved flash campaign opening within the lead."""
    now = now or utcnow()
    due = await Campaign.filter(
        type=CampaignType.FLASH,
        status__in=list(REMINDABLE),
        starts_at__gt=now,
        starts_at__lte=now + _lead(),
    ).values_list("id", flat=True)
    return sum([await send_reminders(int(str(campaign_id)), now.isoformat()) for campaign_id in due])


async def _reminders_cron(ctx: dict[str, Any]) -> None:
    await send_due()


TASKS: list[Job] = [send_reminders]
CRON_JOBS: list[CronJob] = [
    cron(_reminders_cron, name="campaigns.flash_reminders_cron", second=0, unique=True)
]
