"""Campaign analytics and the live view of a flash campaign (Redis counters, database results)."""

from __future__ import annotations

import math
import time
from typing import Any

from app.redis_client import get_redis
from app.timeutil import utcnow
from campaigns.flash_keys import PLACEHOLDER, k
from campaigns.flash_persist import stream_backlog
from campaigns.models import Campaign, CampaignStats, CampaignType, FlashWin
from campaigns.schemas import AnalyticsOut, LiveOut

WINDOW_SECONDS = 60
RATE_SECONDS = 5


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _counters(campaign_id: int) -> tuple[dict[str, str], dict[str, int], int, list[int]] | None:
    """(meta, outcomes, participants, grabs per second over the window) in one round trip, or None."""
    now = math.floor(time.time())
    seconds = [str(s) for s in range(now - WINDOW_SECONDS + 1, now + 1)]
    async with get_redis().pipeline(transaction=False) as pipe:
        pipe.hgetall(k(campaign_id, "meta"))
        pipe.hgetall(k(campaign_id, "outcomes"))
        pipe.pfcount(k(campaign_id, "participants"))
        pipe.hmget(k(campaign_id, "per_second"), seconds)
        meta_raw, outcomes_raw, participants, per_second = await pipe.execute()
    if not meta_raw:
        return None
    meta = {_text(a): _text(b) for a, b in meta_raw.items()}
    outcomes = {_text(a): int(b) for a, b in outcomes_raw.items() if _text(a) != PLACEHOLDER}
    return meta, outcomes, int(participants), [int(v or 0) for v in per_second]


async def live(campaign: Campaign) -> LiveOut:
    """Stock left, grabs per second and persistence progress of a flash campaign right now."""
    counters = await _counters(campaign.id)
    persisted = await FlashWin.filter(campaign_id=campaign.id).count()
    if counters is None:
        stats = await CampaignStats.get_or_none(campaign_id=campaign.id)
        return LiveOut(
            campaign_id=campaign.id,
            status=campaign.status,
            loaded=False,
            stock=campaign.stock,
            left=None,
            issued=persisted,
            persisted=persisted,
            pending_persist=0,
            grabs_per_second=0.0,
            grabs_last_seconds=[0] * WINDOW_SECONDS,
            outcomes=stats.outcomes if stats else {},
            participants=stats.participants if stats else 0,
            epoch=campaign.flash_epoch,
            at=utcnow(),
        )
    meta, outcomes, participants, per_second = counters
    # The current second is still filling up: the rate is taken over the seconds before it.
    recent = per_second[-RATE_SECONDS - 1 : -1]
    return LiveOut(
        campaign_id=campaign.id,
        status=campaign.status,
        loaded=True,
        state=meta.get("state"),
        stock=campaign.stock,
        left=int(meta["left"]) if "left" in meta else None,
        issued=int(meta.get("issued", 0)),
        persisted=persisted,
        pending_persist=await stream_backlog(campaign.id),
        grabs_per_second=sum(recent) / len(recent) if recent else 0.0,
        grabs_last_seconds=per_second,
        outcomes=outcomes,
        participants=participants,
        epoch=int(meta.get("epoch", campaign.flash_epoch)),
        at=utcnow(),
    )


async def snapshot_stats(campaign_id: int) -> bool:
    """Copy a loaded campaign's grab counters into the database (they outlive the Redis keys)."""
    counters = await _counters(campaign_id)
    if counters is None:
        return False
    _, outcomes, participants, _ = counters
    stats, created = await CampaignStats.get_or_create(
        campaign_id=campaign_id, defaults={"outcomes": outcomes, "participants": participants}
    )
    if not created:
        # After a rebuild the HyperLogLog restarts: never let the recorded participant count go down.
        stats.outcomes = outcomes
        stats.participants = max(stats.participants, participants)
        await stats.save(update_fields=["outcomes", "participants", "updated_at"])
    return True


async def analytics(campaign: Campaign) -> AnalyticsOut:
    """A campaign's results so far (grab counters from Redis while loaded, else the last snapshot)."""
    counters = await _counters(campaign.id)
    stats = await CampaignStats.get_or_none(campaign_id=campaign.id)
    outcomes: dict[str, Any]
    if counters is not None:
        _, outcomes, participants, _ = counters
        participants = max(participants, stats.participants if stats else 0)
    else:
        outcomes = stats.outcomes if stats else {}
        participants = stats.participants if stats else 0
    issued = 0
    new_members = 0
    if campaign.type == CampaignType.FLASH:
        wins = FlashWin.filter(campaign_id=campaign.id)
        issued = await wins.count()
        new_members = len(
            set(
                await wins.filter(
                    member__created_at__gte=campaign.starts_at, member__created_at__lt=campaign.ends_at
                ).values_list("member_id", flat=True)
            )
        )
    return AnalyticsOut(
        campaign_id=campaign.id,
        type=campaign.type,
        status=campaign.status,
        participants=participants,
        grabs_tried=sum(int(v) for key, v in outcomes.items() if key != "refused"),
        grabs_won=int(outcomes.get("won", 0)),
        outcomes={key: int(v) for key, v in outcomes.items()},
        rewards_issued=issued,
        cost_fen=campaign.spent_fen,
        budget_count=campaign.budget_count,
        budget_fen=campaign.budget_fen,
        new_members_acquired=new_members,
    )
