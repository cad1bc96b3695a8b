"""Idempotency-Key with Stripe's semantics, on a real endpoint that writes to the database."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import Conflict
from app.core.idempotency import current_reference, idempotent
from app.core.models import AuditEntry, IdempotencyRecord
from app.main import create_app
from tests.helpers import login_member

calls = itertools.count()


class TransferIn(BaseModel):
    amount: int


class TransferOut(BaseModel):
    transfer_id: int
    amount: int
    reference: str | None


def build_app() -> FastAPI:
    app = create_app(manage_resources=False)
    router = APIRouter()

    @router.post("/test/transfers", status_code=201, response_model=TransferOut)
    @idempotent
    async def transfer(body: TransferIn, member: Principal = Depends(current_member)) -> TransferOut:
        next(calls)
        await asyncio.sleep(0.05)  # widen the window for concurrent duplicates
        if body.amount > 1000:
            raise Conflict("too much", code="transfer.too_large")
        entry = await AuditEntry.create(
            actor_type="mp",
            actor_id=member.id,
            action="transfer",
            target_type="t",
            after={"amount": body.amount},
        )
        return TransferOut(transfer_id=entry.id, amount=body.amount, reference=current_reference())

    app.include_router(router)
    return app


@pytest.fixture
async def api() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c  # type: ignore[misc]


async def test_replay_returns_first_response_without_redoing_work(api: httpx.AsyncClient) -> None:
    headers = await login_member(api) | {"Idempotency-Key": "k-1"}
    first = await api.post("/test/transfers", json={"amount": 5}, headers=headers)
    second = await api.post("/test/transfers", json={"amount": 5}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await AuditEntry.filter(action="transfer").count() == 1
    assert first.json()["reference"].endswith(":k-1")


async def test_same_key_different_body_conflicts(api: httpx.AsyncClient) -> None:
    headers = await login_member(api) | {"Idempotency-Key": "k-2"}
    await api.post("/test/transfers", json={"amount": 5}, headers=headers)
    response = await api.post("/test/transfers", json={"amount": 6}, headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency.conflict"


async def test_keys_are_scoped_to_the_principal(api: httpx.AsyncClient) -> None:
    alice = await login_member(api, "alice") | {"Idempotency-Key": "shared"}
    bob = await login_member(api, "bob") | {"Idempotency-Key": "shared"}
    a = await api.post("/test/transfers", json={"amount": 5}, headers=alice)
    b = await api.post("/test/transfers", json={"amount": 5}, headers=bob)
    assert a.json()["transfer_id"] != b.json()["transfer_id"]


async def test_business_errors_are_replayed_too(api: httpx.AsyncClient) -> None:
    headers = await login_member(api) | {"Idempotency-Key": "k-3"}
    first = await api.post("/test/transfers", json={"amount": 5000}, headers=headers)
    second = await api.post("/test/transfers", json={"amount": 5000}, headers=headers)
    assert first.status_code == second.status_code == 409
    assert first.json()["code"] == second.json()["code"] == "transfer.too_large"
    assert second.headers["idempotent-replayed"] == "true"
    # The stored refusal is the problem the route gives without a key, field for field.
    plain = await api.post("/test/transfers", json={"amount": 5000}, headers=await login_member(api))
    assert {k: v for k, v in second.json().items() if k != "request_id"} == {
        k: v for k, v in plain.json().items() if k != "request_id"
    }
    assert second.headers["content-type"] == plain.headers["content-type"] == "application/problem+json"


async def test_validation_failure_stores_nothing(api: httpx.AsyncClient) -> None:
    headers = await login_member(api) | {"Idempotency-Key": "k-4"}
    bad = await api.post("/test/transfers", json={"amount": "lots"}, headers=headers)
    assert bad.status_code == 422
    assert await IdempotencyRecord.all().count() == 0
    good = await api.post("/test/transfers", json={"amount": 7}, headers=headers)
    assert good.status_code == 201


async def test_twenty_concurrent_duplicates_run_the_work_once(api: httpx.AsyncClient) -> None:
    headers = await login_member(api) | {"Idempotency-Key": "k-5"}
    before = next(calls)
    responses = await asyncio.gather(
        *(api.post("/test/transfers", json={"amount": 9}, headers=headers) for _ in range(20))
    )
    assert next(calls) - before == 2  # one real call, plus the probe itself
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["transfer_id"] for r in responses}) == 1
    assert await AuditEntry.filter(action="transfer").count() == 1


async def test_without_key_work_runs_each_time(api: httpx.AsyncClient) -> None:
    headers = await login_member(api)
    await api.post("/test/transfers", json={"amount": 1}, headers=headers)
    await api.post("/test/transfers", json={"amount": 1}, headers=headers)
    assert await AuditEntry.filter(action="transfer").count() == 2


async def test_malformed_key_is_rejected(api: httpx.AsyncClient) -> None:
    headers = await login_member(api) | {"Idempotency-Key": "x" * 300}
    response = await api.post("/test/transfers", json={"amount": 1}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
