"""The grab's fast lane: `POST /mp/v1/campaigns/{id}/grab` answered before FastAPI's routing.

A flash peak is tens of thousands of identical requests within seconds, and FastAPI's route matching and
dependency resolution cost more CPU than the grab itself. The documented route
(`miniprogram_api.campaigns.grab`) declares `@fast_lane(answer)`, so `app.core.fastlane.FastLanes`
answers it with `answer` below: the same authentication (`current_member`), the same client address and
the same `grab_body` as the route, with errors rendered by the application's own handlers.
"""

from __future__ import annotations

import orjson

from app.core.auth.deps import current_member
from app.core.fastlane import LaneRequest
from campaigns import flash
from campaigns.errors import CampaignNotFound

# Campaign ids are BIGINTs: a larger (or non-positive) id names no campaign, and the database would
# refuse to compare with it.
MAX_ID = 2**63 - 1


async def grab_body(campaign_id: int, member_id: int, key: str | None, ip: str) -> bytes:
    """The JSON answer to one grab (shared by the lane and the documented route)."""
    key = flash.check_idempotency_key(key)
    if not 0 < campaign_id <= MAX_ID:
        raise CampaignNotFound("campaign not found")
    answer = await flash.grab(campaign_id, member_id, key, ip)
    return orjson.dumps(
        {
            "campaign_id": campaign_id,
            "outcome": answer.outcome,
            "ticket_id": answer.ticket_id,
            "sequence": answer.sequence or None,
        }
    )


async def answer(request: LaneRequest) -> bytes | None:
    """The grab through the lane: the route's dependencies in the route's order, then `grab_body`."""
    campaign_id = request.int_param("campaign_id")
    if campaign_id is None or not 0 < campaign_id <= MAX_ID:
        return None  # not plain digits, or outside `Id`: the route's own validation answers (its 422)
    member = await request.principal(current_member)
    return await grab_body(campaign_id, member.id, request.headers.get("idempotency-key"), request.client_ip)
