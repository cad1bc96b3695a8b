"""Store discovery for customers (`/mp/v1/stores`): nearby, store detail, scanning a store QR code."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from app.core.auth.deps import optional_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.fastlane import fast_lane
from app.core.inputs import Id
from app.core.pagination import Page
from app.core.timeutil import utcnow
from campaigns import audience
from campaigns.schemas import StoreCampaignOut
from loyalty import members
from loyalty import members as loyalty_members
from merchants import discovery
from merchants.schemas import ScanIn, StoreDetailOut, StoreNearbyOut
from merchants.validation import CHINA_LAT, CHINA_LNG
from miniprogram_api import nearby_lane
from miniprogram_api.nearby_lane import NearbyQuery, nearby_body

router = APIRouter(tags=["Mini-program: stores"])


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


# The hot path of the mini-program. Its fast lane (`miniprogram_api.nearby_lane.answer`) answers
# well-formed requests before FastAPI's routing; this route documents the endpoint and answers the rest
# (its 422 problems). Both read the query with the same pydantic model instead of FastAPI's
# per-parameter machinery and answer with the same `nearby_body`, whose items Redis renders.
@router.get(
    "/stores/nearby",
    response_model=Page[StoreNearbyOut],
    summary="Active stores near a point, nearest first",
    openapi_extra={"parameters": _query_parameters(NearbyQuery)},
    responses=problem_responses((422, "validation_error", "coordinates, radius, category or cursor invalid")),
)
@fast_lane(nearby_lane.answer)
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
