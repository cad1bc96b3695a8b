"""Nearby stores (`GET /mp/v1/stores/nearby`): its query, its page, and its fast lane.

Nearby is the busiest customer request, and FastAPI's route matching, dependency solving and request
objects cost more CPU than the Redis call that answers it. The documented route
(`miniprogram_api.stores.nearby`) declares `@fast_lane(answer)`, so `app.core.fastlane.FastLanes`
answers well-formed requests with `answer` below: the route's own query model and the route's own
`nearby_body`. Anything it cannot read (a bad coordinate, radius, category or cursor) goes on to the
route, which answers with the usual 422 problem, so both paths always agree.
"""

from __future__ import annotations

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.errors import ProblemError
from app.core.fastlane import LaneRequest
from app.core.pagination import MAX_PAGE_SIZE, InvalidCursor, decode_cursor, encode_cursor
from merchants import discovery
from merchants.models import Category
from merchants.validation import CHINA_LAT, CHINA_LNG

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


async def nearby_body(query: NearbyQuery, offset: int) -> bytes:
    """The JSON page of nearby stores for a parsed query (shared by the route and the lane)."""
    items, shown, more = await discovery.nearby(
        query.lat, query.lng, query.radius_m, query.category, offset, query.limit
    )
    next_offset = offset + shown
    next_cursor = orjson.dumps(
        encode_cursor({"o": next_offset}) if more and next_offset <= MAX_OFFSET else None
    )
    return b'{"items":' + items + b',"next_cursor":' + next_cursor + b"}"


def parse(params: dict[str, str]) -> tuple[NearbyQuery, int] | None:
    """The query and its offset, or None when the route must answer (it reports what is wrong)."""
    try:
        query = NearbyQuery.model_validate(params)
        return query, query.offset()
    except (ValidationError, ProblemError):
        return None


async def answer(request: LaneRequest) -> bytes | None:
    """Nearby through the lane: a well-formed query is answered, anything else is left to the route."""
    parsed = parse(request.query_dict())
    if parsed is None:
        return None
    return await nearby_body(*parsed)
