"""Every bill-payment endpoint is documented for front-end developers: summary, tag, description, example
request and response, and its problem codes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PREFIXES = ("/mp/v1/bills", "/ops/v1/billpay")


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return dict(components[schema["$ref"].rsplit("/", 1)[-1]])
    return schema


def _has_example(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    schema = _resolve(schema, components)
    if "example" in schema or "examples" in schema:
        return True
    if schema.get("type") == "array":
        return _has_example(schema["items"], components)
    items = schema.get("properties", {}).get("items")  # a Page of items
    return items is not None and _has_example(items, components)


def test_every_bill_payment_endpoint_is_documented(app: FastAPI) -> None:
    spec = app.openapi()
    components = spec["components"]["schemas"]
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith(PREFIXES):
            continue
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description") and op.get("tags"), where
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                assert _has_example(body, components), f"{where}: request example"
            success = [code for code in op["responses"] if code.startswith("2")]
            assert success, where
            content = op["responses"][success[0]].get("content")
            if success[0] != "204":
                assert _has_example(content["application/json"]["schema"], components), (
                    f"{where}: response example"
                )
            if "{" in path and path.startswith("/mp/v1"):
                assert "404" in op["responses"], f"{where}: documents its 404"
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")) and code != "422":
                    examples = response["content"]["application/problem+json"]["examples"]
                    assert all("." in name or name == "rate_limited" for name in examples), where
            checked += 1
    assert checked >= 25


def _undescribed(name: str, components: dict[str, Any], seen: set[str]) -> list[str]:
    if name in seen or name in ("Page_OrderOut_",):
        return []
    seen.add(name)
    schema = components[name]
    missing = []
    for prop, spec in schema.get("properties", {}).items():
        if not spec.get("description"):
            missing.append(f"{name}.{prop}")
        refs = [spec, *spec.get("anyOf", []), *spec.get("allOf", []), spec.get("items", {})]
        for ref in refs:
            if "$ref" in ref:
                missing += _undescribed(ref["$ref"].rsplit("/", 1)[-1], components, seen)
            elif "$ref" in ref.get("items", {}):
                missing += _undescribed(ref["items"]["$ref"].rsplit("/", 1)[-1], components, seen)
    return missing


def test_member_bill_routes_document_auth_failures_and_every_field(app: FastAPI) -> None:
    spec = app.openapi()
    components = spec["components"]["schemas"]
    names: set[str] = set()
    for path, operations in spec["paths"].items():
        if not path.startswith("/mp/v1/bills"):
            continue
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert (
                "auth.missing_token"
                in op["responses"]["401"]["content"]["application/problem+json"]["examples"]
            ), where
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    assert param.get("description"), f"{where}: query {param['name']}"
            schemas = []
            if "requestBody" in op:
                schemas.append(op["requestBody"]["content"]["application/json"]["schema"])
            for code, response in op["responses"].items():
                if code.startswith("2") and "content" in response:
                    schemas.append(response["content"]["application/json"]["schema"])
            for schema in schemas:
                schema = schema.get("items", schema)
                if "$ref" in schema:
                    names.add(schema["$ref"].rsplit("/", 1)[-1])
    names |= {"OrderOut"}
    seen: set[str] = set()
    missing = [m for name in sorted(names) for m in _undescribed(name, components, seen)]
    assert missing == []
    assert {"OrderIn", "OrderOut", "BillVoucherOut", "BillOut", "TransitionOut"} <= seen
