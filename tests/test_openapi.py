"""docs/openapi.json is the contract front-end teams generate clients from: it must match the code."""

from __future__ import annotations

from app.openapi import DEFAULT_PATH, current_openapi, render


def test_exported_openapi_is_current() -> None:
    assert DEFAULT_PATH.exists(), "run `make openapi`"
    assert DEFAULT_PATH.read_text() == render(current_openapi()), (
        "docs/openapi.json is stale: run `make openapi`"
    )


def test_every_operation_is_documented() -> None:
    document = current_openapi()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("summary") or not operation.get("tags") or not operation.get("description"):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
