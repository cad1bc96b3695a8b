"""Hand-written SQL where the ORM cannot express a statement (upserts, set-based work) or costs too much.

Statements use PostgreSQL's `$1` placeholders; on SQLite they become `?1` (SQLite's numbered
parameters), so one text serves both dialects and a parameter may appear more than once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from app.core.db import db

_PLACEHOLDER = re.compile(r"\$(\d+)")


def _text(sql: str) -> str:
    return sql if db().capabilities.dialect == "postgres" else _PLACEHOLDER.sub(r"?\1", sql)


async def rows(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run a statement on the current connection (the transaction's inside one) and return its rows."""
    return list(await db().execute_query_dict(_text(sql), list(args)))


async def execute(sql: str, *args: Any) -> int:
    """Run a statement and return the number of rows it changed."""
    changed, _ = await db().execute_query(_text(sql), list(args))
    return int(changed)


def instant(value: Any) -> datetime:
    """A timestamp column read by hand (SQLite returns the text Tortoise stored), as aware UTC."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(parsed, datetime)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def optional_instant(value: Any) -> datetime | None:
    """A nullable timestamp column read by hand: None stays None, anything else as `instant`."""
    return None if value is None else instant(value)


def json_value(value: Any) -> Any:
    """A JSON column read by hand (text on both dialects without a codec)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


async def column(query: Awaitable[Any]) -> list[Any]:
    """The values of a `values_list(name, flat=True)` query (Tortoise's stubs type them as tuples)."""
    return list(await query)
