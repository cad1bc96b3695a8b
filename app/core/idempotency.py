"""Idempotency-Key, with Stripe's semantics, for every POST that changes money, points, stock or vouchers.

- same key, same request: the first response (status and body) is returned again, the work is not redone;
- same key, different request: 409 `idempotency.conflict`;
- concurrent duplicates: one runs, the others wait for its answer (or get 409 `idempotency.in_progress`);
- a request that fails validation never reaches this code, so it stores nothing;
- server errors (5xx) release the key so the client can retry.

`@idempotent` runs the endpoint in one database transaction that begins with the key's claim and ends
with its answer, so the effect and the answer commit together or not at all: a request whose effect
committed answers with it on every retry, and one whose connection died (the transaction aborted) left
nothing behind, so its retry runs afresh at once — no lock to wait out, no second run of business
checks over an effect that already happened. A concurrent duplicate waits on the claim's row lock,
which the database releases when the first request commits or dies. `@idempotent_across_commits` is
for the few endpoints that must commit before an outside call (bill payment debits the bank): their
claim is a lease (`LOCK_SECONDS`) and their services are idempotent by `current_reference()`.

Keys are scoped to the authenticated principal and kept `idempotency_ttl` seconds (24 h by default).
Services can read the key through `current_reference()` and write it into their own unique
references, so even a crash between the work and the stored response cannot apply a request twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar, cast

import orjson
from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from app.core import sql
from app.core.config import get_settings
from app.core.db import db, transaction
from app.core.errors import PROBLEM_JSON, Conflict, InvalidField, ProblemError, problem_body
from app.core.models import IdempotencyRecord
from app.core.timeutil import utcnow

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
LOCK_SECONDS = 15  # lease of an `idempotent_across_commits` claim whose holder may have died
WAIT_SECONDS = 10.0

_reference: ContextVar[str | None] = ContextVar("idempotency_reference", default=None)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def current_reference() -> str | None:
    """`<principal>:<key>` of the request being served, or None without an Idempotency-Key."""
    return _reference.get()


@contextlib.contextmanager
def one_time_reference(reference: str) -> Iterator[None]:
    """Run service calls under a caller's own one-time key (e.g. a console form's nonce), as under an
    `Idempotency-Key`: services that store `current_reference()` apply a resubmitted form once."""
    token = _reference.set(reference)
    try:
        yield
    finally:
        _reference.reset(token)


def _fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.url.path.encode() + b"\0" + request.url.query.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _scope(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        client = request.client.host if request.client else "unknown"
        return f"anon:{client}"
    return str(principal.ref)


def _validate_key(key: str) -> None:
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidField(HEADER, "must be 1-255 printable ASCII characters")


def _replay(record: IdempotencyRecord) -> Response:
    return Response(
        content=record.response_body or b"",
        status_code=int(record.status_code or 200),
        media_type=record.content_type,
        headers={REPLAY_HEADER: "true"},
    )


# The claim and the answer are the two writes every idempotent request makes, so they are single
# hand-written statements (the ORM's insert-then-catch and update cost ~4x the CPU).
_CLAIM = """
INSERT INTO core_idempotency (scope, key, fingerprint, locked_until, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (scope, key) DO NOTHING
RETURNING id
"""
_ANSWER = """
UPDATE core_idempotency SET status_code = $1, response_body = $2, content_type = $3
WHERE scope = $4 AND key = $5
"""


async def _claim(scope: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert our claim; return the existing record when somebody holds the key."""
    now = utcnow()
    ttl = get_settings().idempotency_ttl
    for _ in range(2):
        claimed = await sql.rows(
            _CLAIM,
            scope,
            key,
            fingerprint,
            now + timedelta(seconds=LOCK_SECONDS),
            now + timedelta(seconds=ttl),
            now,
        )
        if claimed:
            return None
        existing = await IdempotencyRecord.get_or_none(scope=scope, key=key)
        if existing is None:
            continue
        if existing.expires_at < now:
            await IdempotencyRecord.filter(id=existing.id, expires_at__lt=now).delete()
            continue
        return existing
    raise Conflict("idempotency key is busy", code="idempotency.in_progress", headers={"Retry-After": "1"})


async def _await_or_take_over(record: IdempotencyRecord, fingerprint: str) -> IdempotencyRecord | None:
    """Wait for a concurrent duplicate to finish; take the key over if its holder died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    delay = 0.01
    while True:
        if record.fingerprint != fingerprint:
            raise Conflict(f"{HEADER} was already used for a different request", code="idempotency.conflict")
        if record.status_code is not None:
            return record
        now = utcnow()
        if record.locked_until < now:
            taken = await IdempotencyRecord.filter(
                id=record.id, locked_until=record.locked_until, status_code__isnull=True
            ).update(locked_until=now + timedelta(seconds=LOCK_SECONDS))
            if taken:
                return None
        if loop.time() > deadline:
            raise Conflict(
                "a request with this key is still being processed",
                code="idempotency.in_progress",
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)
        fresh = await IdempotencyRecord.get_or_none(id=record.id)
        if fresh is None:  # released after a server error: run it ourselves
            claimed = await _claim(record.scope, record.key, fingerprint)
            if claimed is None:
                return None
            fresh = claimed
        record = fresh


def _as_response(result: Any, status_code: int) -> Response:
    if isinstance(result, Response):
        return result
    return Response(
        content=orjson.dumps(jsonable_encoder(result)),
        status_code=status_code,
        media_type="application/json",
    )


_HEADER_PARAMETER = inspect.Parameter(
    "_idem_key",
    inspect.Parameter.KEYWORD_ONLY,
    annotation=str | None,
    default=Header(
        None,
        alias=HEADER,
        description="Unique per intended operation (e.g. a UUID). Retrying with the same key "
        "returns the first response instead of doing the work again. Kept for 24 hours.",
    ),
)
_REQUEST_PARAMETER = inspect.Parameter("_idem_request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)


def _with_key_parameters(endpoint: F, wrapper: Callable[..., Any]) -> F:
    signature = inspect.signature(endpoint)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*params, _REQUEST_PARAMETER, _HEADER_PARAMETER]
    )
    return cast(F, wrapper)


def _problem_response(exc: ProblemError) -> Response:
    return Response(
        content=orjson.dumps(problem_body(exc.status, exc.code, exc.title, exc.detail, exc.extra)),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers=exc.headers,
    )


def _answer_of(response: Response) -> tuple[int, bytes, str | None]:
    return (
        response.status_code,
        bytes(response.body),
        response.media_type or response.headers.get("content-type"),
    )


# Postgres: a duplicate waits for the holder's transaction on the claim's unique index; lock_timeout
# bounds that wait (the setting is local to the transaction and reset right after the claim).
_CLAIM_WAITING = """
INSERT INTO core_idempotency (scope, key, fingerprint, locked_until, expires_at, created_at)
SELECT $1, $2, $3, $4, $5, $6 FROM (SELECT set_config('lock_timeout', $7, true)) AS bounded_wait
ON CONFLICT (scope, key) DO NOTHING
RETURNING id
"""
_STORE_ANSWERED = """
INSERT INTO core_idempotency
    (scope, key, fingerprint, locked_until, expires_at, created_at, status_code, response_body, content_type)
VALUES ($1, $2, $3, $4, $5, $4, $6, $7, $8)
ON CONFLICT (scope, key) DO NOTHING
RETURNING id
"""


async def _claim_in_transaction(scope: str, key: str, fingerprint: str) -> bool:
    """Claim the key inside the current transaction; False when another request committed it first."""
    now = utcnow()
    expires = now + timedelta(seconds=get_settings().idempotency_ttl)
    if db().capabilities.dialect != "postgres":
        return bool(await sql.rows(_CLAIM, scope, key, fingerprint, now, expires, now))
    wait = f"{int(WAIT_SECONDS * 1000)}ms"
    try:
        claimed = await sql.rows(_CLAIM_WAITING, scope, key, fingerprint, now, expires, now, wait)
    except Exception as exc:
        if _lock_wait_expired(exc):
            raise _in_progress() from None
        raise
    await sql.execute("SET LOCAL lock_timeout TO DEFAULT")  # Linli sets nothing per session
    return bool(claimed)


def _lock_wait_expired(exc: BaseException) -> bool:
    return "lock timeout" in str(exc) or type(exc).__name__ == "LockNotAvailableError"


def _in_progress() -> Conflict:
    return Conflict(
        "a request with this key is still being processed",
        code="idempotency.in_progress",
        headers={"Retry-After": "1"},
    )


async def _committed_answer(scope: str, key: str, fingerprint: str) -> Response | None:
    """The answer another request committed for this key; None when the key is free again."""
    existing = await IdempotencyRecord.get_or_none(scope=scope, key=key)
    if existing is None:
        return None
    if existing.expires_at < utcnow():
        await IdempotencyRecord.filter(id=existing.id, expires_at__lt=utcnow()).delete()
        return None
    if existing.fingerprint != fingerprint:
        raise Conflict(f"{HEADER} was already used for a different request", code="idempotency.conflict")
    if existing.status_code is None:  # leased by an `idempotent_across_commits` request still running
        raise _in_progress()
    return _replay(existing)


def idempotent(endpoint: F) -> F:
    """Make an endpoint honour the `Idempotency-Key` header, its effect and answer committing together."""

    @functools.wraps(endpoint)
    async def wrapper(*args: Any, _idem_request: Request, _idem_key: str | None, **kwargs: Any) -> Any:
        if _idem_key is None:
            return await endpoint(*args, **kwargs)
        _validate_key(_idem_key)
        request = _idem_request
        status_code = int(getattr(request.scope.get("route"), "status_code", None) or 200)
        scope = _scope(request)
        fingerprint = _fingerprint(request, await request.body())
        for _ in range(3):
            token = _reference.set(f"{scope}:{_idem_key}")
            try:
                async with transaction():
                    if await _claim_in_transaction(scope, _idem_key, fingerprint):
                        response = _as_response(await endpoint(*args, **kwargs), status_code)
                        await sql.execute(_ANSWER, *_answer_of(response), scope, _idem_key)
                        return response
            except ProblemError as exc:
                if exc.status >= 500 or exc.code == "idempotency.in_progress":
                    raise
                # The effect rolled back with the claim; the refusal is the answer, stored on its own.
                refused = _problem_response(exc)
                if await _store_refusal(scope, _idem_key, fingerprint, refused):
                    return refused
            finally:
                _reference.reset(token)
            replay = await _committed_answer(scope, _idem_key, fingerprint)
            if replay is not None:
                return replay
        raise _in_progress()

    return _with_key_parameters(endpoint, wrapper)


async def _store_refusal(scope: str, key: str, fingerprint: str, response: Response) -> bool:
    """Store a 4xx answer whose request changed nothing; False when another request answered first."""
    now = utcnow()
    expires = now + timedelta(seconds=get_settings().idempotency_ttl)
    return bool(await sql.rows(_STORE_ANSWERED, scope, key, fingerprint, now, expires, *_answer_of(response)))


def idempotent_across_commits(endpoint: F) -> F:
    """`Idempotency-Key` for an endpoint that commits more than once (before an outside call): the key is
    leased while it runs and its service must be idempotent by `current_reference()`."""

    @functools.wraps(endpoint)
    async def wrapper(*args: Any, _idem_request: Request, _idem_key: str | None, **kwargs: Any) -> Any:
        if _idem_key is None:
            return await endpoint(*args, **kwargs)
        _validate_key(_idem_key)
        request = _idem_request
        status_code = int(getattr(request.scope.get("route"), "status_code", None) or 200)
        scope = _scope(request)
        fingerprint = _fingerprint(request, await request.body())
        existing = await _claim(scope, _idem_key, fingerprint)
        if existing is not None:
            done = await _await_or_take_over(existing, fingerprint)
            if done is not None:
                return _replay(done)
        token = _reference.set(f"{scope}:{_idem_key}")
        try:
            response = _as_response(await endpoint(*args, **kwargs), status_code)
        except ProblemError as exc:
            if exc.status >= 500:
                await IdempotencyRecord.filter(scope=scope, key=_idem_key).delete()
                raise
            response = _problem_response(exc)
        except BaseException:
            await IdempotencyRecord.filter(scope=scope, key=_idem_key).delete()
            raise
        finally:
            _reference.reset(token)
        await sql.execute(_ANSWER, *_answer_of(response), scope, _idem_key)
        return response

    return _with_key_parameters(endpoint, wrapper)
