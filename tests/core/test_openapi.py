"""docs/openapi.json is the contract front-end teams generate clients from: it must match the code."""

from __future__ import annotations

import re
from typing import Any

from app.core.errors import PROBLEM_JSON
from app.core.openapi_complete import example_of
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


def _json_media(operation: dict[str, Any]) -> list[dict[str, Any]]:
    media = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
    media += [
        response.get("content", {}).get("application/json")
        for status, response in operation["responses"].items()
        if status.startswith("2")
    ]
    return [m for m in media if m is not None]


def test_every_json_body_has_an_example_and_every_error_a_code() -> None:
    document = current_openapi()
    without_example, without_errors, undocumented_422 = [], [], []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            if any("example" not in m and "examples" not in m for m in _json_media(operation)):
                without_example.append(name)
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            if path.startswith(("/mp/", "/merchant/", "/ops/")) and not errors:
                without_errors.append(name)
            for status, response in errors.items():
                problem = response.get("content", {}).get(PROBLEM_JSON, {})
                codes = {e["value"]["code"] for e in problem.get("examples", {}).values()}
                if not codes:
                    undocumented_422.append(f"{name} {status}")
    assert without_example == []
    assert without_errors == []
    assert undocumented_422 == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_generated_examples_follow_the_schema_types() -> None:
    schemas = {
        "Card": {"type": "object", "properties": {"id": {"type": "integer"}, "at": {"type": "string"}}}
    }
    schema = {
        "type": "object",
        "properties": {
            "amount_fen": {"type": "integer"},
            "lat": {"type": "number"},
            "cards": {"type": "array", "items": {"$ref": "#/components/schemas/Card"}},
            "when": {"type": "string", "format": "date-time"},
            "kind": {"enum": ["cash", "discount"]},
            "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
        },
    }

    example = example_of(schema, schemas)

    assert example == {
        "amount_fen": 2500,
        "lat": 31.2304,
        "cards": [{"id": 42, "at": "at"}],
        "when": "2026-11-22T02:30:00Z",
        "kind": "cash",
        "note": "note",
    }


def test_operation_ids_read_well_in_a_generated_client() -> None:
    operations = {
        (path, method): op["operationId"]
        for path, ops in current_openapi()["paths"].items()
        for method, op in ops.items()
    }
    ids = list(operations.values())
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", i) for i in ids), [i for i in ids if "_" in i]
    assert operations[("/mp/v1/campaigns/{campaign_id}/grab", "post")] == "grab"
    assert operations[("/mp/v1/stores/nearby", "get")] == "nearby"
    # A name several audiences share carries its audience.
    assert operations[("/mp/v1/auth/login", "post")] == "mpLogin"
    assert operations[("/ops/v1/auth/login", "post")] == "opsLogin"
