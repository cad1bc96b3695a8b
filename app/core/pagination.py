"""Cursor pagination: opaque, signed cursors, a maximum page size, one shape for every list."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app.core.config import get_settings
from app.core.errors import InvalidField
from app.core.inputs import MAX_INT64

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


CURSOR_PROBLEM = "pagination.invalid_cursor"
MAX_CURSOR_LENGTH = 512
_MAC_BYTES = 16


class InvalidCursor(InvalidField):
    """A cursor that is not one this API issued: malformed, forged, tampered with or out of range."""

    def __init__(self, message: str = "not a cursor of this list") -> None:
        super().__init__("cursor", message, code=CURSOR_PROBLEM)


@functools.lru_cache(maxsize=4)
def _cursor_key(secret: str) -> bytes:
    # A key of its own, derived from LINLI_TOKEN_SECRET: a cursor MAC is never a token signature.
    return hmac.new(secret.encode(), b"linli-cursor-v1", hashlib.sha256).digest()


def _mac(payload: bytes) -> bytes:
    key = _cursor_key(get_settings().token_secret)
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _unb64(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque, tamper-evident cursor for a position in a list: `<payload>.<HMAC>`, base64url."""
    payload = _b64(orjson.dumps(position))
    return (payload + b"." + _b64(_mac(payload))).decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position a cursor stands for (422 `pagination.invalid_cursor` naming `cursor` otherwise).

    The signature is checked before anything is parsed, so only positions this API issued are ever read;
    a forged, truncated or deeply nested cursor is refused unread.
    """
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise InvalidCursor()
    payload, dot, mac = cursor.encode().rpartition(b".")
    try:
        genuine = bool(dot) and hmac.compare_digest(_unb64(mac), _mac(payload))
        value = orjson.loads(_unb64(payload)) if genuine else None
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if not isinstance(value, dict):
        raise InvalidCursor()
    return value


async def paginate(
    queryset: QuerySet[M], params: PageParams, *, newest_first: bool = True
) -> tuple[list[M], str | None]:
    """Keyset pagination on the primary key: stable under inserts, O(page) per request."""
    if params.cursor:
        after = decode_cursor(params.cursor).get("id")
        if not isinstance(after, int) or isinstance(after, bool) or not 0 < after <= MAX_INT64:
            raise InvalidCursor()
        queryset = queryset.filter(id__lt=after) if newest_first else queryset.filter(id__gt=after)
    rows = await queryset.order_by("-id" if newest_first else "id").limit(params.limit + 1)
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = encode_cursor({"id": rows[-1].pk}) if has_more and rows else None
    return rows, next_cursor
