"""The mini-program home screen (`/mp/v1/home`): member summary, campaigns where I am, stores nearby."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Depends, Query

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import InvalidField, problem_responses
from app.core.timeutil import utcnow
from campaigns import audience
from loyalty import ledger, members
from loyalty.schemas import PointsSummaryOut
from merchants import discovery, grids
from merchants.validation import CHINA_LAT, CHINA_LNG
from miniprogram_api.schemas import CampaignCardOut, HomeCampaignsOut, HomeMemberOut, HomeOut

router = APIRouter(tags=["Mini-program: home"])

CAMPAIGNS_SHOWN = 5
NEARBY_SHOWN = 5
NEARBY_RADIUS_M = 3_000


async def _nearby_preview(lat: float | None, lng: float | None) -> list[dict[str, object]]:
    if lat is None or lng is None:
        return []
    items, _, _ = await discovery.nearby(lat, lng, NEARBY_RADIUS_M, None, 0, NEARBY_SHOWN)
    return orjson.loads(items)  # type: ignore[no-any-return]


def _cards(campaigns: list[audience.Published]) -> list[CampaignCardOut]:
    return [
        CampaignCardOut(
            id=c.id,
            type=c.type,
            status=c.status,
            name=c.name,
            banner_url=c.banner_url,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
        )
        for c in campaigns
    ]


@router.get(
    "/home",
    response_model=HomeOut,
    summary="The home screen in one call",
    responses=problem_responses(
        (404, "member.not_found", "the member behind the token no longer exists"),
        (422, "validation_error", "`lat` and `lng` out of range, or only one of them given"),
    ),
)
async def home(
    lat: float | None = Query(None, ge=CHINA_LAT[0], le=CHINA_LAT[1], description="GCJ-02 latitude"),
    lng: float | None = Query(None, ge=CHINA_LNG[0], le=CHINA_LNG[1], description="GCJ-02 longitude"),
    member: Principal = Depends(current_member),
) -> HomeOut:
    """Points and tier, live and upcoming campaigns for my grid and tier, and the nearest stores.

    Without a location the home shows campaigns that run everywhere and no stores.
    """
    if (lat is None) != (lng is None):
        raise InvalidField("lng" if lng is None else "lat", "give both lat and lng, or neither")
    me, grid_id = await asyncio.gather(members.get_member(member.id), grids.covering_grid(lat, lng))
    summary, shown, nearby = await asyncio.gather(
        ledger.points_summary(member.id),
        audience.for_member(me, grid_id, utcnow(), CAMPAIGNS_SHOWN),
        _nearby_preview(lat, lng),
    )
    return HomeOut(
        member=HomeMemberOut(id=me.id, nickname=me.nickname, tier=me.tier, joined=me.joined_at is not None),
        points=PointsSummaryOut.of(summary),
        grid_id=grid_id,
        campaigns=HomeCampaignsOut(live=_cards(shown.live), upcoming=_cards(shown.upcoming)),
        nearby=nearby,
    )
