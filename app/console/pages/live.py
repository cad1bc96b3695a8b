"""The live flash view: a page whose chart moves with server-sent events (authenticated by the cookie).

Every viewer in every process reads one Redis copy of the campaign's live view, refreshed at most once per
interval by whichever viewer finds it stale (a Redis lock), so a hundred viewers cost the database what one
does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse

from app.console.deps import require, signed_in
from app.console.rendering import render
from app.console.session import COOKIE, ConsoleSession, load
from app.core.inputs import Id
from app.core.redis_client import get_redis, key
from campaigns import repository
from campaigns import router_ops as ops
from campaigns.flash import live_view
from campaigns.models import CampaignStatus
from campaigns.views import campaign_out

router = APIRouter(prefix="/campaigns")
INTERVAL = 1.0
KEEP_ALIVE = 15
RECHECK_SESSION = 30  # events between checks that the console session is still alive
_DONE = {CampaignStatus.ENDED.value, CampaignStatus.CANCELLED.value}


async def shared_view(campaign_id: int) -> dict[str, Any]:
    """The campaign's live view from Redis, recomputed by one viewer when it is older than the interval."""
    redis = get_redis()
    view_key, lock_key = key("console-live", campaign_id, "view"), key("console-live", campaign_id, "lock")
    ttl_ms = int(INTERVAL * 1000) - 50
    for _ in range(10):
        cached = await redis.get(view_key)
        if cached is not None:
            return dict(json.loads(cached))
        if await redis.set(lock_key, 1, nx=True, px=ttl_ms):
            break
        await asyncio.sleep(INTERVAL / 10)
    view = await live_view(await repository.get_campaign(campaign_id))
    data = view.model_dump_json()
    await redis.set(view_key, data, px=ttl_ms)
    return dict(json.loads(data))


@router.get("/{campaign_id}/live")
async def live_page(
    request: Request, campaign_id: Id, session: ConsoleSession = Depends(signed_in)
) -> Response:
    """Stock left, grabs per second, wins and their persistence, moving as grabs arrive."""
    require(session, ops.live_events)
    campaign = await campaign_out(await repository.get_campaign(campaign_id))
    context = {"campaign": campaign, "view": await shared_view(campaign_id)}
    return render(request, "live.html", context, session=session)


@router.get("/{campaign_id}/live/events")
async def live_events(
    request: Request, campaign_id: Id, session: ConsoleSession = Depends(signed_in)
) -> EventSourceResponse:
    """The live view every second as `live` events, with keep-alive comments; ends with the campaign."""
    require(session, ops.live_events)
    await repository.get_campaign(campaign_id)
    cookie = request.cookies.get(COOKIE)

    async def events() -> AsyncIterator[dict[str, Any]]:
        n = 0
        while True:
            view = await shared_view(campaign_id)
            yield {"event": "live", "id": str(n), "data": json.dumps(view)}
            if view["status"] in _DONE and view["pending_persist"] == 0:
                return
            n += 1
            if n % RECHECK_SESSION == 0 and await load(cookie) is None:
                return  # logged out, revoked or idle elsewhere: the stream ends too
            await asyncio.sleep(INTERVAL)

    return EventSourceResponse(events(), ping=KEEP_ALIVE, headers={"Cache-Control": "no-store"})
