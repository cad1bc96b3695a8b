"""Cursor pagination: opaque cursors, a maximum page size, one shape for every list."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app.core.errors import InvalidField

MAX_PAGE_SIZE = 100
T = TypeVar("T")
M = TypeVar("M", bound=Model)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next one (null at the end)."""

    items: list[T]
    next_cursor: str | None = Field(None, description="opaque cursor for the next page; null when done")


@dataclass(frozen=True)
class PageParams:
    """The `cursor` and `limit` query parameters."""

    cursor: str | None
    limit: int


def page_params(
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(20, ge=1, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}"),
) -> PageParams:
    """Dependency reading the pagination query parameters."""
    return PageParams(cursor, limit)


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor for a position in a list."""
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position a cursor stands for (422 naming `cursor` when malformed)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidField("cursor", "malformed cursor") from None
    if not isinstance(value, dict):
        raise InvalidField("cursor", "malformed cursor")
    return value


async def paginate(
    queryset: QuerySet[M], params: PageParams, *, newest_first: bool = True
) -> tuple[list[M], str | None]:
    """Keyset pagination on the primary key: stable under inserts, O(page) per request."""
    if params.cursor:
        after = decode_cursor(params.cursor).get("id")
        if not isinstance(after, int):
            raise InvalidField("cursor", "malformed cursor")
        queryset = queryset.filter(id__lt=after) if newest_first else queryset.filter(id__gt=after)
    rows = await queryset.order_by("-id" if newest_first else "id").limit(params.limit + 1)
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = encode_cursor({"id": rows[-1].pk}) if has_more and rows else None
    return rows, next_cursor
