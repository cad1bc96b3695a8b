"""Customer-facing responses never carry secrets or another party's personal data (checked on the schema)."""

from __future__ import annotations

from typing import Any

from app.openapi import current_openapi

# Fields that must never reach a mini-program: identity-provider secrets, stored personal data in any
# form, and merchants' legal and banking details.
FORBIDDEN = {
    "openid",
    "unionid",
    "session_key",
    "password",
    "password_hash",
    "phone_hash",
    "phone_encrypted",
    "legal_rep_name",
    "legal_rep_phone",
    "settlement_account",
    "settlement_account_name",
    "credit_code",
    "refresh_token_hash",
}


def _properties(schema: dict[str, Any], schemas: dict[str, Any], seen: set[str]) -> set[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return set()
        seen.add(name)
        return _properties(schemas[name], schemas, seen)
    found = set(schema.get("properties", {}))
    parts = [
        *schema.get("properties", {}).values(),
        schema.get("items"),
        schema.get("additionalProperties"),
    ]
    for key in ("anyOf", "oneOf", "allOf"):
        parts += schema.get(key, [])
    for part in parts:
        if isinstance(part, dict):
            found |= _properties(part, schemas, seen)
    return found


def test_no_customer_response_exposes_secrets_or_others_personal_data() -> None:
    document = current_openapi()
    schemas = document["components"]["schemas"]
    leaks = {}
    checked = 0
    for path, operations in document["paths"].items():
        if not path.startswith("/mp/"):
            continue
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema:
                    checked += 1
                    exposed = _properties(schema, schemas, set()) & FORBIDDEN
                    if exposed:
                        leaks[f"{method.upper()} {path}"] = sorted(exposed)
    assert checked > 30  # the walk really visited the customer API
    assert leaks == {}


def test_the_check_finds_a_leak_when_there_is_one() -> None:
    schemas = {"Store": {"properties": {"name": {}, "owner": {"$ref": "#/components/schemas/Owner"}}}}
    schemas["Owner"] = {"properties": {"legal_rep_phone": {"type": "string"}}}

    found = _properties({"type": "array", "items": {"$ref": "#/components/schemas/Store"}}, schemas, set())

    assert "legal_rep_phone" in found
