"""The live view of a flash campaign: its Redis counters read in one round trip, and their snapshot in the
database (the counters outlive the Redis keys)."""

from __future__ import annotations

import math
import time

from app.core.redis_client import get_redis
from app.core.timeutil import utcnow
from campaigns.flash.keys import PLACEHOLDER, k
from campaigns.flash.persistence import stream_backlog
from campaigns.models import Campaign, CampaignStats, FlashWin
from campaigns.schemas import LiveOut

WINDOW_SECONDS = 60
RATE_SECONDS = 5


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def read_counters(campaign_id: int) -> tuple[dict[str, str], dict[str, int], int, list[int]] | None:
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
    counters = await read_counters(campaign.id)
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
    counters = await read_counters(campaign_id)
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
