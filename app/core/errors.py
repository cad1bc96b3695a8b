"""RFC 9457 problem details: one exception type, handlers, and OpenAPI descriptions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.logs import request_id_var
from app.core.problem_i18n import negotiate, translate

PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """An error that becomes a problem+json response with a stable machine code."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.status = status or self.status
        self.code = code or self.code
        self.title = title or self.title
        self.detail = detail or self.title
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(f"{self.code}: {self.detail}")


class NotFound(ProblemError):
    """The resource does not exist or is not visible to the caller."""

    status, code, title = 404, "not_found", "Not found"


class Unauthorized(ProblemError):
    """Missing, expired, forged or revoked credentials."""

    status, code, title = 401, "auth.unauthorized", "Authentication required"


class Forbidden(ProblemError):
    """Authenticated, but this principal may not do this."""

    status, code, title = 403, "auth.forbidden", "Forbidden"


class Conflict(ProblemError):
    """The request conflicts with the current state."""

    status, code, title = 409, "conflict", "Conflict"


class InvalidField(ProblemError):
    """A single field failed a business validation rule (422 naming the field)."""

    status, code, title = 422, "validation_error", "Invalid input"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(
            f"{field}: {message}",
            code=code,
            errors=[{"field": field, "message": message, "type": code or "invalid"}],
        )


class RateLimited(ProblemError):
    """Too many requests; retry after the given number of seconds."""

    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail or f"retry after {retry_after}s", headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ProblemError):
    """A dependency is temporarily unavailable; retry later."""

    status, code, title = 503, "unavailable", "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})


def problem_body(
    status: int, code: str, title: str, detail: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON body of a problem response."""
    body: dict[str, Any] = {
        "type": f"https://linli.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    language: str | None = None,
) -> JSONResponse:
    """A problem+json response, in `language` if given (negotiated: title and detail, never the code)."""
    title, detail = translate(language, status, code, title, detail, extra=extra, headers=headers)
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")  # RFC 9110: a 401 names its scheme
    if language:
        headers |= {"Content-Language": language, "Vary": "Accept-Language"}
    return JSONResponse(
        problem_body(status, code, title, detail, extra),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def _language(request: Request) -> str | None:
    return negotiate(request.headers.get("accept-language"))


def _field_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        headers=exc.headers,
        extra=exc.extra,
        language=_language(request),
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(err.get("type") == "json_invalid" for err in raw):
        return problem_response(
            400,
            "request.malformed",
            "Malformed request",
            "body is not valid JSON",
            language=_language(request),
        )
    errors = [
        {"field": _field_name(err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type", "")}
        for err in raw
    ]
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem_response(
        422,
        "validation_error",
        "Invalid input",
        f"invalid fields: {fields}",
        extra={"errors": errors},
        language=_language(request),
    )


_HTTP_CODES = {
    # FastAPI raises a 400 for a body it could not read (too deeply nested JSON, not UTF-8, a broken
    # multipart form): the same problem as invalid JSON, one code for every malformed body.
    400: ("request.malformed", "Malformed request"),
    401: ("auth.unauthorized", "Authentication required"),
    403: ("auth.forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("request.too_large", "Request too large"),
}


def _allowed_methods(request: Request) -> str | None:
    """Every method of every route whose path matches the request (Starlette names only the first's)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):  # included routers' routes, with their prefix
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods)) if methods else None


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, (f"http_{exc.status_code}", "Error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "the body could not be read (not UTF-8, nested too deeply, or a broken form)"
    return problem_response(
        exc.status_code, code, title, detail, headers=headers, language=_language(request)
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through problem+json (unexpected ones: see RequestContextMiddleware)."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)


def problem_responses(*codes: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting problem codes: `(status, code, description)` triples."""
    grouped: dict[int, list[tuple[str, str]]] = {}
    for status, code, description in codes:
        grouped.setdefault(status, []).append((code, description))
    out: dict[int | str, dict[str, Any]] = {}
    for status, entries in grouped.items():
        out[status] = {
            "description": "; ".join(f"`{c}`: {d}" for c, d in entries),
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "examples": {
                        c: {"value": problem_body(status, c, d, d) | {"request_id": "3f2c9a"}}
                        for c, d in entries
                    },
                }
            },
        }
    return out
