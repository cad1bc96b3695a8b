"""Finish the OpenAPI document for client teams: an example for every body, every error code documented.

Endpoints document their own examples (`json_schema_extra`) and domain errors (`problem_responses`);
what every endpoint shares is added here, once, so no route can forget it: the authentication
problems of protected routes, the validation problem (FastAPI's default 422 describes a body we never
send), and an example built from the schema for any JSON body that has none of its own.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from app.core.errors import PROBLEM_JSON, problem_responses
from app.core.inputs import MAX_INT64

AUTH_PROBLEMS = (
    (401, "auth.missing_token", "no `Authorization: Bearer` token"),
    (401, "auth.token_invalid", "the token is malformed, forged or for another audience"),
    (401, "auth.token_expired", "the access token expired: refresh it"),
    (401, "auth.token_revoked", "the session was logged out or revoked"),
)
CURSOR_PROBLEM = (422, "pagination.invalid_cursor", "`cursor` is malformed, forged or out of range")
MALFORMED = (400, "request.malformed", "the body is not valid JSON, or could not be read")
FORBIDDEN = (403, "auth.forbidden", "your roles do not allow this")
# Values an example shows for fields named like this (otherwise the type decides).
_NAMED: dict[str, Any] = {
    "lat": 31.2304,
    "lng": 121.4737,
    "phone": "138****1234",
    "nickname": "Alice",
    "name": "Corner Coffee",
    "title": "Latte voucher",
    "address": "12 Harbour Road",
    "reason": "licence photo unreadable",
    "cursor": "eyJvIjoyMH0",
    "next_cursor": None,
    "currency": "CNY",
    "code": "A1B2C3",
    "token": "LV1.42.1764000000.9f8e7d",
    "url": "https://img.example.com/banner.png",
    "banner_url": "https://img.example.com/banner.png",
    "description": "Espresso and pastries",
    "status": "active",
    "category": "catering",
    "tier": "silver",
    "account_no": "3101****7788",
    "request_id": "3f2c9a",
}
_MAX_DEPTH = 6


def route_operation_id(route: APIRoute) -> str:
    """A provisional operation id, `<audience>:<function name>`, that `complete` makes readable."""
    audience = next((a for a in ("mp", "merchant", "ops") if route.path.startswith(f"/{a}/")), "platform")
    return f"{audience}:{route.name}"


def _camel(words: str) -> str:
    first, *rest = [w for w in words.split("_") if w]
    return first + "".join(w[:1].upper() + w[1:] for w in rest)


def _readable_operation_ids(document: dict[str, Any]) -> None:
    """`listNearbyStores`-style ids from the route functions' names; a name several audiences use
    (`login`, `me`) carries its audience (`mpLogin`, `opsLogin`), so every id stays unique."""
    operations = [op for ops in document.get("paths", {}).values() for op in ops.values()]
    provisional = [str(op.get("operationId", "")).partition(":") for op in operations]
    uses: dict[str, int] = {}
    for _, found, name in provisional:
        if found:
            uses[name] = uses.get(name, 0) + 1
    for op, (audience, found, name) in zip(operations, provisional, strict=True):
        if found:
            op["operationId"] = _camel(name if uses[name] == 1 else f"{audience}_{name}")


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error responses and missing examples to every operation, in place."""
    _readable_operation_ids(document)
    schemas = document.get("components", {}).get("schemas", {})
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _document_errors(path, operation)
            _add_examples(operation, schemas)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _exact_integers(document)
    return document


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _exact_integers(node: Any) -> None:
    """Integer bounds as integers, in place.

    FastAPI's OpenAPI models hold body schemas' bounds as floats: `le=2**63-1` would be published as
    `9.223372036854776e+18`, which is 2**63, one past the bound. Bounds of integer schemas are made
    integers again; one at the float nearest 2**63 is the BIGINT limit it stands for.
    """
    if isinstance(node, list):
        for item in node:
            _exact_integers(item)
    elif isinstance(node, dict):
        if node.get("type") == "integer":
            for key in _BOUNDS:
                value = node.get(key)
                if isinstance(value, float) and value.is_integer():
                    node[key] = max(-MAX_INT64, min(MAX_INT64, int(value)))
        for value in node.values():
            _exact_integers(value)


def _merge(operation: dict[str, Any], extra: dict[int | str, dict[str, Any]]) -> None:
    responses = operation.setdefault("responses", {})
    for status, response in extra.items():
        key = str(status)
        existing = responses.get(key)
        problem = (existing or {}).get("content", {}).get(PROBLEM_JSON)
        if problem is None:
            responses[key] = response
            continue
        examples = problem.setdefault("examples", {})
        added = response["content"][PROBLEM_JSON]["examples"]
        fresh = {code: value for code, value in added.items() if code not in examples}
        examples.update(fresh)
        if fresh:
            existing["description"] = "; ".join(
                [existing["description"], *(f"`{c}`: {v['value']['detail']}" for c, v in fresh.items())]
            )


def _first_field(operation: dict[str, Any]) -> str:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") in ("query", "path"):
            return str(parameter["name"])
    return "body"


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    default_422 = responses.get("422", {}).get("content", {}).get("application/json")
    if default_422 is not None:
        del responses["422"]
    if default_422 is not None or "422" in responses:
        field = _first_field(operation)
        validation = problem_responses((422, "validation_error", f"`{field}` is missing or invalid"))
        validation[422]["content"][PROBLEM_JSON]["examples"]["validation_error"]["value"]["errors"] = [
            {"field": field, "message": "Field required", "type": "missing"}
        ]
        _merge(operation, validation)
    if "requestBody" in operation:
        _merge(operation, problem_responses(MALFORMED))
    if any(p.get("name") == "cursor" and p.get("in") == "query" for p in operation.get("parameters", [])):
        _merge(operation, problem_responses(CURSOR_PROBLEM))
    if operation.get("security"):
        _merge(operation, problem_responses(*AUTH_PROBLEMS))
        if not path.startswith("/mp/"):
            _merge(operation, problem_responses(FORBIDDEN))


def _add_examples(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    media = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            media.append(response.get("content", {}).get("application/json"))
    for item in media:
        if item is not None and "example" not in item and "examples" not in item:
            item["example"] = example_of(item.get("schema", {}), schemas)


def example_of(schema: dict[str, Any], schemas: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A plausible value for a JSON schema: its own example first, else built from its parts."""
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "$ref" in schema:
        target = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return example_of(target, schemas, name, depth) if depth < _MAX_DEPTH else {}
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(combinator, []) if s.get("type") != "null"]
        if options:
            return example_of(options[0], schemas, name, depth + 1)
    if schema.get("default") is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth >= _MAX_DEPTH:
            return {}
        return {
            key: example_of(sub, schemas, key, depth + 1) for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, name, depth + 1)] if depth < _MAX_DEPTH else []
    return _scalar(kind, schema, name)


def _scalar(kind: Any, schema: dict[str, Any], name: str) -> Any:
    if name in _NAMED and kind in ("string", "number", None):
        return _NAMED[name]
    if kind == "boolean":
        return True
    if kind == "integer":
        if name.endswith("_fen"):
            return 2500
        if name == "id" or name.endswith("_id"):
            return 42
        if "points" in name or name == "balance":
            return 120
        return max(int(schema.get("minimum", 1)), 1) if "maximum" not in schema else int(schema["maximum"])
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    fmt = schema.get("format")
    if fmt == "date-time" or name.endswith("_at"):
        return "2026-11-22T02:30:00Z"
    if fmt == "date" or name.endswith("_day") or name == "birthday":
        return "2026-11-22"
    if fmt == "uri" or name.endswith("_url"):
        return "https://img.example.com/banner.png"
    return name.replace("_", " ") if name else "text"
