"""One input policy for the whole API: bounded ids and integers, strings the database can store.

- `Id` is the type of every id a client sends (path, query, body): an integer in `1..2**63-1`, the range
  of the `BIGINT` primary keys, so an id beyond 64 bits is a 422 naming the field instead of a driver
  error. `Int64` and `Int32` bound other integers by the column that stores them.
  `tests/core/test_inputs.py` walks the route table and the OpenAPI document and fails on any integer a
  client can send without both bounds.
- `Patch` is the base of PATCH bodies: `null` only for the fields that can be cleared.
- `Day` and `Instant` are dates and times sent as ISO 8601 text; a number is refused (pydantic would
  read it as a Unix timestamp).
- `screen_request` is an application-wide dependency: it refuses, with a 422 naming the field, a
  string holding NUL (`\\u0000`, which PostgreSQL cannot store in text) or a lone surrogate (not
  encodable as UTF-8) anywhere in the path, the query or a JSON body, before any route sees it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue

MAX_INT64 = 2**63 - 1
MAX_INT32 = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_INT64)]
"""A client-supplied id: 1..2**63-1 (every primary key is a BIGINT)."""

Int64 = Annotated[int, Field(ge=-MAX_INT64, le=MAX_INT64)]
"""An integer stored in a BIGINT column (add tighter bounds where the domain has them)."""

Int32 = Annotated[int, Field(ge=-MAX_INT32, le=MAX_INT32)]
"""An integer stored in an INTEGER column."""


def _iso_only(kind: str) -> Any:
    def check(value: Any) -> Any:
        # pydantic reads a number (or a string of digits) as a Unix timestamp: `{"day": 0}` would be
        # 1970-01-01. A date or time is sent as ISO 8601 text, or not at all.
        if isinstance(value, bool | int | float) or (isinstance(value, str) and value.strip().isdigit()):
            raise ValueError(f"expected an ISO 8601 {kind}, not a number")
        return value

    return BeforeValidator(check)


Day = Annotated[date, _iso_only("date (YYYY-MM-DD)")]
"""A calendar date sent as `YYYY-MM-DD`; numbers are refused."""

Instant = Annotated[datetime, _iso_only("date-time")]
"""A point in time sent as ISO 8601 text; numbers are refused."""

AwareInstant = Annotated[AwareDatetime, _iso_only("date-time with a UTC offset")]
"""A point in time sent as ISO 8601 text with its offset; numbers are refused."""


class Patch(BaseModel):
    """A PATCH body: an absent field stays as it is; `null` is accepted only for the fields listed in
    `nullable` (those that can be cleared), any other is a 422 naming the field."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The documented body says what is accepted: `null` only where `nullable` allows it."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            if name in cls.nullable:
                continue
            options = prop.get("anyOf")
            if options and {"type": "null"} in options:
                rest = [option for option in options if option != {"type": "null"}]
                del prop["anyOf"]
                if len(rest) == 1:
                    prop.update(rest[0])
                else:
                    prop["anyOf"] = rest
            if prop.get("default", ...) is None:
                del prop["default"]
        return schema


def unstorable(text: str) -> str | None:
    """Why the database cannot store `text` (NUL or a lone surrogate), or None when it can."""
    if "\x00" in text:
        return "must not contain NUL (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode (a lone surrogate)"
    return None


def _bad_strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, loc)]
    while stack:  # iterative: a deeply nested body cannot exhaust the interpreter's stack
        item, where = stack.pop()
        if isinstance(item, str):
            if (reason := unstorable(item)) is not None:
                yield where, reason
        elif isinstance(item, dict):
            for key, sub in item.items():
                if (reason := unstorable(key)) is not None:
                    yield (*where, key.encode("utf-8", "backslashreplace").decode()), reason
                stack.append((sub, (*where, key)))
        elif isinstance(item, list):
            stack.extend((sub, (*where, i)) for i, sub in enumerate(item))


def _error(loc: tuple[str | int, ...], reason: str) -> dict[str, Any]:
    return {"type": "string_unstorable", "loc": loc, "msg": reason, "input": None}


def _suspicious(body: bytes) -> bool:
    # A JSON text carries NUL or a surrogate only as a \u escape (raw control characters are invalid).
    return b"\\u0000" in body or b"\\ud" in body or b"\\uD" in body


async def screen_request(request: Request) -> None:
    """Refuse strings the database cannot store, anywhere in the request (422 naming each field)."""
    errors: list[dict[str, Any]] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and (reason := unstorable(value)) is not None:
            errors.append(_error(("path", name), reason))
    if request.scope.get("query_string"):
        for name, value in request.query_params.multi_items():
            reason = unstorable(name) or unstorable(value)
            if reason is not None:
                errors.append(_error(("query", name.replace("\x00", "\\u0000")), reason))
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is not None and "json" in request.headers.get("content-type", ""):
        body = await request.body()
        if _suspicious(body):
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                parsed = None  # the route reports a malformed body itself
            errors.extend(_error(loc, reason) for loc, reason in _bad_strings(parsed, ("body",)))
    if errors:
        raise RequestValidationError(errors)
