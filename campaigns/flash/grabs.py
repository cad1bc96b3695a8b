"""The grab: cached answers where they are certain, otherwise one batched Redis round trip."""

from __future__ import annotations

import math
import time

from redis.exceptions import RedisError

from app.core.config import get_settings
from app.core.errors import InvalidField, RateLimited
from app.core.redis_client import get_redis
from campaigns.errors import CampaignNotFound, CampaignUnavailable
from campaigns.flash.engine import ENDED, NOT_STARTED, OK, SOLD_OUT, GrabAnswer, batcher
from campaigns.flash.keys import k
from campaigns.flash.runtime import runtime
from campaigns.models import CampaignStatus

_HIDDEN = (CampaignStatus.DRAFT, CampaignStatus.PENDING_APPROVAL)


def check_idempotency_key(key: str | None) -> str:
    """The grab's Idempotency-Key ('' when absent); 422 naming the header when malformed."""
    if key is None:
        return ""
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidField("Idempotency-Key", "must be 1-255 printable ASCII characters")
    return key


async def grab(campaign_id: int, member_id: int, key: str, ip: str) -> GrabAnswer:
    """Try to take one item of a flash campaign for a member."""
    view = await runtime.view(campaign_id)
    if view is None or not view.flash or view.status in _HIDDEN:
        raise CampaignNotFound("campaign not found")
    fast = runtime.fast_answer(campaign_id, view, member_id, bool(key))
    if fast is not None:
        if fast is SOLD_OUT:
            runtime.count_sold_out(campaign_id)
        return fast
    try:
        state, answer = await batcher.grab(campaign_id, member_id, key, ip)
    except RedisError as exc:
        raise CampaignUnavailable("the flash engine is unreachable; retry shortly") from exc
    if state.status != OK or answer is None:
        return _without_keys(campaign_id, view.status, view.starts)
    runtime.note(campaign_id, state)
    if answer.won:
        runtime.journal_win(campaign_id, member_id, answer, key)
    elif answer.outcome == "rate_limited":
        raise RateLimited(max(1, math.ceil(answer.retry_after_ms / 1000)), "too many grabs; slow down")
    return answer


def _without_keys(campaign_id: int, status: CampaignStatus, starts: float) -> GrabAnswer:
    """The campaign is not (or no longer) in Redis: explain, and start loading it when it should be."""
    if status in (CampaignStatus.ENDED, CampaignStatus.CANCELLED):
        return ENDED
    if status == CampaignStatus.APPROVED and time.time() < starts - get_settings().flash_preheat_seconds:
        return NOT_STARTED  # preheat comes later; nothing to grab yet
    runtime.load_soon(campaign_id)
    raise CampaignUnavailable()


async def stock_left(campaign_id: int) -> tuple[int | None, int | None]:
    """(stock, left) as the flash engine holds them; (None, None) before the campaign is loaded."""
    total, left = await get_redis().hmget(k(campaign_id, "meta"), ["stock", "left"])  # type: ignore[misc]
    return (int(total) if total is not None else None, int(left) if left is not None else None)


async def answered_wins(campaign_id: int, member_id: int) -> int:
    """How many wins the engine has answered to the member (some may not be persisted yet)."""
    answered = await get_redis().hget(k(campaign_id, "wins"), str(member_id))  # type: ignore[misc]
    return int(answered or 0)
