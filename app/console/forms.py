"""Form input for the console: yuan to fen, Shanghai wall-clock time to UTC, pydantic errors per field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from app.core.errors import InvalidField
from app.core.timeutil import BUSINESS_TZ


class FieldErrors(dict[str, str]):
    """Form field → translated message."""


def fen(raw: str, field: str, errors: FieldErrors, _: Callable[[str], str]) -> int | None:
    """`12.5` yuan as 1250 fen; a blank field is None, a malformed one an error."""
    text = raw.strip().lstrip("¥")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors[field] = _("error.money")
        return None
    if amount != amount.quantize(Decimal("0.01")) or amount < 0:
        errors[field] = _("error.money")
        return None
    return int(amount * 100)


def instant(raw: str, field: str, errors: FieldErrors, _: Callable[[str], str]) -> str | None:
    """A `datetime-local` value read as Asia/Shanghai time, in UTC ISO form."""
    if not raw.strip():
        errors[field] = _("error.missing")
        return None
    try:
        local = datetime.fromisoformat(raw.strip())
    except ValueError:
        errors[field] = _("error.datetime")
        return None
    return local.replace(tzinfo=BUSINESS_TZ).isoformat()


def integer(raw: str, field: str, errors: FieldErrors, _: Callable[[str], str]) -> int | None:
    """A whole number; a blank field is None."""
    if not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        errors[field] = _("error.integer")
        return None


def message(error: Mapping[str, Any], _: Callable[[str], str]) -> str:
    """A pydantic error in the page's language (its English text when the catalogue lacks its type)."""
    key = f"error.{error.get('type', '')}"
    template = _(key)
    if template == key:
        return str(error.get("msg", ""))
    context = dict(error.get("ctx") or {})
    if error.get("type") == "value_error":  # a model's own rule: its sentence is the only detail there is
        context = {"detail": str(error.get("msg", "")).removeprefix("Value error, ")}
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):
        return template


def from_validation(
    exc: ValidationError, fields: Mapping[str, str], errors: FieldErrors, _: Callable[[str], str]
) -> None:
    """Put each validation error under the form field its location names (the last known name wins)."""
    for error in exc.errors():
        names = [str(part) for part in error["loc"]]
        dotted = ".".join(names)
        field = next((fields[key] for key in (dotted, *reversed(names)) if key in fields), "_form")
        errors.setdefault(field, message(dict(error), _))


def invalid(errors: FieldErrors) -> InvalidField:
    """The first field error as the 422 problem the page shows."""
    field, text = next(iter(errors.items()))
    return InvalidField(field, text)
