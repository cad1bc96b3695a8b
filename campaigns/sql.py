"""Raw SQL helpers for the few statements the ORM cannot express (conditional updates, upserts)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from app.db import dialect


def placeholders(sql: str, values: list[object]) -> tuple[str, list[object]]:
    """Turn `$n` placeholders into the current dialect's (SQLite: `?`, values repeated in order)."""
    if dialect() == "postgres":
        return sql, values
    ordered: list[object] = []
    parts = sql.split("$")
    out = [parts[0]]
    for part in parts[1:]:
        digits = len(part) - len(part.lstrip("0123456789"))
        ordered.append(values[int(part[:digits]) - 1])
        out.append("?" + part[digits:])
    return "".join(out), ordered


async def column(query: Awaitable[Any]) -> list[Any]:
    """The values of a `values_list(name, flat=True)` query (Tortoise's stubs type them as tuples)."""
    return list(await query)
