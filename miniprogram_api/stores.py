"""Store discovery for customers (`/mp/v1/stores`): nearby, store detail, scanning a store QR code."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from app.auth.deps import current_member
from app.auth.tokens import Principal
from app.errors import InvalidField, problem_responses
from app.pagination import MAX_PAGE_SIZE, Page, decode_cursor, encode_cursor
from merchants import discovery, public
from merchants.models import Category
from merchants.schemas import ScanIn, StoreDetailOut, StoreNearbyOut
from merchants.validation import CHINA_LAT, CHINA_LNG

router = APIRouter(tags=["Mini-program: stores"])
MAX_RADIUS_M = 20_000
MAX_OFFSET = 1_000


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    offset = decode_cursor(cursor).get("o")
    if not isinstance(offset, int) or not 0 < offset <= MAX_OFFSET:
        raise InvalidField("cursor", "malformed cursor")
    return offset


@router.get(
    "/stores/nearby",
    response_model=Page[StoreNearbyOut],
    summary="Active stores near a point, nearest first",
    responses=problem_responses((422, "validation_error", "coordinates, radius, category or cursor invalid")),
)
async def nearby(
    lat: float = Query(ge=CHINA_LAT[0], le=CHINA_LAT[1], description="GCJ-02 latitude"),
    lng: float = Query(ge=CHINA_LNG[0], le=CHINA_LNG[1], description="GCJ-02 longitude"),
    radius_m: int = Query(3000, ge=1, le=MAX_RADIUS_M, description="search radius in metres"),
    category: Category | None = None,
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
) -> Response:
    """Served from the Redis GEO index (no SQL); suspended or unapproved stores never appear."""
    offset = _offset(cursor)
    hits, more = await discovery.nearby(lat, lng, radius_m, category, offset, limit)
    items = [hit.summary | {"distance_m": round(hit.distance_m)} for hit in hits]
    next_offset = offset + len(items)
    next_cursor = encode_cursor({"o": next_offset}) if more and next_offset <= MAX_OFFSET else None
    return Response(orjson.dumps({"items": items, "next_cursor": next_cursor}), media_type="application/json")


@router.get(
    "/stores/{store_id}",
    response_model=StoreDetailOut,
    summary="A store's public profile",
    responses=problem_responses((404, "store.not_found", "no such store open on the platform")),
)
async def store_detail(
    store_id: int,
    lat: float | None = Query(None, ge=CHINA_LAT[0], le=CHINA_LAT[1], description="for the distance"),
    lng: float | None = Query(None, ge=CHINA_LNG[0], le=CHINA_LNG[1], description="for the distance"),
) -> StoreDetailOut:
    """Name, category, address, hours, photos, description and the distance from the given point."""
    return await public.store_detail(store_id, lat, lng)


@router.post(
    "/stores/scan",
    response_model=StoreDetailOut,
    summary="Resolve a scanned store QR code",
    responses=problem_responses(
        (400, "store.qr_invalid", "not a store code signed by this platform"),
        (404, "store.not_found", "the store is not open on the platform"),
        (410, "store.qr_revoked", "the store replaced this code with a newer one"),
    ),
)
async def scan(body: ScanIn, member: Principal = Depends(current_member)) -> StoreDetailOut:
    """The store behind a scanned code: the entry point to joining and earning at that merchant."""
    return await public.scan(body.payload)
