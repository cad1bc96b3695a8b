"""The exported OpenAPI document (docs/openapi.json), kept in the repository for client generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def current_openapi() -> dict[str, Any]:
    """The OpenAPI document of the application as built now."""
    from app.main import create_app

    return create_app(manage_resources=False).openapi()


def render(document: dict[str, Any]) -> str:
    """Stable text form: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_openapi(output: str | Path = DEFAULT_PATH) -> Path:
    """Write the current document to `output`."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(current_openapi()))
    return path
