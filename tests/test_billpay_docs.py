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
