"""Applying lifecycle transitions: a conditional update on the status, an audit entry, engine sync."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.db import on_commit
from campaigns.audience import showcase
from campaigns.errors import InvalidTransition
from campaigns.lifecycle.table import Action, next_status
from campaigns.models import Campaign, CampaignStatus

log = logging.getLogger("linli.campaigns")

# Told of every transition inside its transaction (the flash engine follows its campaigns this way), so
# the lifecycle needs to know nothing of what follows it.
TransitionListener = Callable[[Campaign, CampaignStatus], Awaitable[None]]
_listeners: list[TransitionListener] = []


def install_listeners(*listeners: TransitionListener) -> None:
    """Set who is told of every transition (installing replaces: calling it twice adds nothing)."""
    _listeners[:] = listeners


async def apply(
    actor: Principal | None,
    campaign: Campaign,
    action: Action,
    *,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> Campaign:
    """Move `campaign` along the lifecycle inside the caller's transaction; 409 if its status moved on."""
    target = next_status(campaign.status, action)
    if target is None:
        raise InvalidTransition(f"cannot {action.value} a campaign that is {campaign.status.value}")
    fields: dict[str, Any] = {"status": target, **(changes or {})}
    if action == Action.END:
        fields["end_reason"] = reason or "ended_by_operator"
    updated = await Campaign.filter(id=campaign.id, status=campaign.status).update(**fields)
    if not updated:
        raise InvalidTransition("the campaign changed meanwhile; reload it")
    after: dict[str, Any] = {"status": target.value}
    if reason:
        after["reason"] = reason
    await audit.record(
        actor,
        f"campaign.{action.value}",
        "campaign",
        campaign.id,
        before={"status": campaign.status},
        after=after,
    )
    if not on_commit(showcase.changed):
        await showcase.changed()
    for listener in _listeners:
        await listener(campaign, target)
    return await Campaign.get(id=campaign.id)


async def end_for_budget(campaign_id: int) -> None:
    """End a campaign whose budget is spent (inside the caller's transaction)."""
    campaign = await Campaign.get(id=campaign_id)
    if next_status(campaign.status, Action.END) is None:
        return
    await apply(None, campaign, Action.END, reason="budget_exhausted")


async def advance(campaign: Campaign, now: datetime) -> Campaign:
    """Start or end a campaign when the clock passed its window (the scheduler's transitions)."""
    if campaign.status == CampaignStatus.APPROVED and campaign.starts_at <= now < campaign.ends_at:
        return await apply(None, campaign, Action.START)
    if campaign.ends_at <= now and next_status(campaign.status, Action.END) is not None:
        return await apply(None, campaign, Action.END, reason="window_closed")
    return campaign
