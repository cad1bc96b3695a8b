"""Store discovery for customers (`/mp/v1/stores`): nearby, store detail, scanning a store QR code."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.auth.deps import optional_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.inputs import Id
from app.core.pagination import MAX_PAGE_SIZE, InvalidCursor, Page, decode_cursor, encode_cursor
from app.core.timeutil import utcnow
from campaigns import audience
from campaigns.schemas import StoreCampaignOut
from loyalty import members
from loyalty import members as loyalty_members
from merchants import discovery
from merchants.models import Category
from merchants.schemas import ScanIn, StoreDetailOut, StoreNearbyOut
from merchants.validation import CHINA_LAT, CHINA_LNG

router = APIRouter(tags=["Mini-program: stores"])
MAX_RADIUS_M = 20_000
MAX_OFFSET = 1_000


class NearbyQuery(BaseModel):
    """The query of `GET /stores/nearby`."""

    model_config = ConfigDict(extra="ignore")

    lat: float = Field(ge=CHINA_LAT[0], le=CHINA_LAT[1], description="GCJ-02 latitude")
    lng: float = Field(ge=CHINA_LNG[0], le=CHINA_LNG[1], description="GCJ-02 longitude")
    radius_m: int = Field(3000, ge=1, le=MAX_RADIUS_M, description="search radius in metres")
    category: Category | None = Field(None, description="only stores of this category")
    cursor: str | None = Field(None, description="`next_cursor` of the previous page")
    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")

    def offset(self) -> int:
        """The position the cursor stands for (422 naming `cursor` when malformed)."""
        if not self.cursor:
            return 0
        offset = decode_cursor(self.cursor).get("o")
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset <= MAX_OFFSET:
            raise InvalidCursor()
        return offset


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _parse_query(request: Request) -> NearbyQuery:
    try:
        return NearbyQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]) from None


async def nearby_body(query: NearbyQuery, offset: int) -> bytes:
    """The JSON page of nearby stores for a parsed query (shared by the route and `NearbyLane`)."""
    items, shown, more = await discovery.nearby(
        query.lat, query.lng, query.radius_m, query.category, offset, query.limit
    )
    next_offset = offset + shown
    next_cursor = orjson.dumps(
        encode_cursor({"o": next_offset}) if more and next_offset <= MAX_OFFSET else None
    )
    return b'{"items":' + items + b',"next_cursor":' + next_cursor + b"}"


# The hot path of the mini-program. `miniprogram_api.nearby_lane` answers well-formed requests before
# FastAPI's routing; this route documents the endpoint and answers the rest (its 422 problems). It
# reads its query with one pydantic model instead of FastAPI's per-parameter machinery, and Redis
# renders the items, so a request costs one Lua call and a few microseconds of Python.
@router.get(
    "/stores/nearby",
    response_model=Page[StoreNearbyOut],
    summary="Active stores near a point, nearest first",
    openapi_extra={"parameters": _query_parameters(NearbyQuery)},
    responses=problem_responses((422, "validation_error", "coordinates, radius, category or cursor invalid")),
)
async def nearby(request: Request) -> Response:
    """Served from the Redis GEO index (no SQL); suspended or unapproved stores never appear."""
    query = _parse_query(request)
    return Response(await nearby_body(query, query.offset()), media_type="application/json")


class StorePageOut(StoreDetailOut):
    """A store's public profile with the campaigns live there now."""

    campaigns: list[StoreCampaignOut] = Field(description="campaigns live at the store, soonest to end first")


async def _with_campaigns(store: StoreDetailOut, viewer: Principal | None) -> StorePageOut:
    """The store's profile and the campaigns live at its merchant that admit the viewer (merchants
    never import campaigns: the customer layer joins the two)."""
    now = utcnow()
    live = await audience.live_at_merchant(store.merchant_id, now)
    member = await members.get_member(viewer.id) if viewer is not None and live else None
    shown = await audience.admitted(member, live, now)
    items = [StoreCampaignOut(campaign_id=c.id, name=c.name, type=c.type, ends_at=c.ends_at) for c in shown]
    return StorePageOut(**store.model_dump(), campaigns=items)


@router.get(
    "/stores/{store_id}",
    response_model=StorePageOut,
    summary="A store's public profile",
    responses=problem_responses(
        (401, "auth.token_invalid", "a token was sent but is not valid (send none to browse anonymously)"),
        (404, "store.not_found", "no such store open on the platform"),
    ),
)
async def store_detail(
    store_id: Id,
    lat: float | None = Query(None, ge=CHINA_LAT[0], le=CHINA_LAT[1], description="for the distance"),
    lng: float | None = Query(None, ge=CHINA_LNG[0], le=CHINA_LNG[1], description="for the distance"),
    member: Principal | None = Depends(optional_member),
) -> StorePageOut:
    """Name, category, address, hours, photos, description, the distance from the given point and the
    campaigns live at the store that the caller may join (without a token: those open to everyone)."""
    return await _with_campaigns(await discovery.store_detail(store_id, lat, lng), member)


@router.post(
    "/stores/scan",
    response_model=StorePageOut,
    summary="Resolve a scanned store QR code",
    responses=problem_responses(
        (400, "store.qr_invalid", "not a store code signed by this platform"),
        (401, "auth.token_invalid", "a token was sent but is not valid (send none to scan anonymously)"),
        (404, "store.not_found", "the store is not open on the platform"),
        (410, "store.qr_revoked", "the store replaced this code with a newer one"),
    ),
)
async def scan(body: ScanIn, member: Principal | None = Depends(optional_member)) -> StorePageOut:
    """The store behind a scanned code and its live campaigns; a member becomes known to the merchant.

    Works without a token too (a customer who has not logged in yet still sees the store).
    """
    store = await discovery.scan(body.payload)
    if member is not None:
        await loyalty_members.note_store_scan(member.id, store.merchant_id)
    return await _with_campaigns(store, member)
