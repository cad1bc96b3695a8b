"""Idempotency-Key on real routes (a till sale, a voucher redemption, a bill order): a key is released
when its request failed on the database, taken over at once when the request holding it died, answers
"in progress" while a live one holds it, and runs afresh once expired. The database really fails and
really holds the key: PostgreSQL backends are terminated, SQLite's write lock is taken by another
connection."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import httpx
import pytest

from app.core import idempotency
from app.core.models import IdempotencyRecord
from app.core.timeutil import utcnow
from loyalty.models import Sale, VoucherRedemption
from miniprogram_api.billpay.models import BillOrder
from tests.billpay import support as bp
from tests.conftest import _SQLITE_FILE, BACKEND
from tests.core.test_db_faults import PG_DSN, impatient_sqlite, sqlite_write_locked
from tests.loyalty.support import active_merchant, joined_member, member_code
from tests.loyalty.test_vouchers import bought_voucher, published_benefit, token_for


async def scope_of(key: str) -> str:
    """The scope the API gave a key it stored (`<audience>:<id>` of the caller)."""
    return (await IdempotencyRecord.get(key=key)).scope


@asynccontextmanager
async def key_held(scope: str, key: str) -> AsyncIterator[asyncio.Event]:
    """Another request holds `key` in a transaction it has not finished; setting the event kills it."""
    die = asyncio.Event()
    now = utcnow()
    row = (scope, key, "f" * 64, now + timedelta(minutes=1), now + timedelta(hours=1), now)
    if BACKEND == "postgres":
        holder = await asyncpg.connect(PG_DSN)
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "INSERT INTO core_idempotency (scope, key, fingerprint, locked_until, expires_at, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            *row,
        )
        pid = await holder.fetchval("SELECT pg_backend_pid()")

        async def kill() -> None:
            await die.wait()
            killer = await asyncpg.connect(PG_DSN)
            await killer.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
            await killer.close()

        task = asyncio.create_task(kill())
        try:
            yield die
        finally:
            die.set()
            await task
            holder.terminate()
        return
    other = sqlite3.connect(_SQLITE_FILE, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO core_idempotency (scope, key, fingerprint, locked_until, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in row),
    )

    async def close() -> None:
        await die.wait()
        other.rollback()  # the holder's process died: its transaction is rolled back
        other.close()

    task = asyncio.create_task(close())
    try:
        yield die
    finally:
        die.set()
        await task


async def failed_midway(
    send: Callable[[], Awaitable[httpx.Response]], scope: str, key: str
) -> httpx.Response:
    """Send a request while the database fails under it. PostgreSQL: its connection is terminated while
    it waits on its key's claim (held by a transaction that then ends); SQLite: another connection holds
    the write lock."""
    if BACKEND == "sqlite":
        async with impatient_sqlite():
            with sqlite_write_locked():
                return await send()
    async with key_held(scope, key):
        request = asyncio.create_task(send())
        killer = await asyncpg.connect(PG_DSN)
        try:
            for _ in range(500):
                waiting = await killer.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO core_idempotency%'"
                )
                if waiting:
                    break
                await asyncio.sleep(0.02)
            assert len(waiting) == 1, "the request never waited on its claim"
            assert await killer.fetchval("SELECT pg_terminate_backend($1, 5000)", waiting[0]["pid"])
        finally:
            await killer.close()
        return await asyncio.wait_for(request, timeout=30)


async def a_sale(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, object], int]:
    """A merchant's auth header, a sale body for a joined member, and the member id."""
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    return merchant, {"member_code": await member_code(client, member), "amount_fen": 2500}, member_id


async def post_sale(
    client: httpx.AsyncClient, merchant: dict[str, str], body: dict[str, object], key: str
) -> httpx.Response:
    """POST a till sale with an Idempotency-Key."""
    return await client.post("/merchant/v1/sales", json=body, headers=merchant | {"Idempotency-Key": key})


async def test_a_sale_that_met_a_failing_database_is_not_remembered(client: httpx.AsyncClient) -> None:
    merchant, body, member_id = await a_sale(client)
    assert (await post_sale(client, merchant, body | {"amount_fen": 100}, "probe")).status_code == 201
    failed = await failed_midway(
        lambda: post_sale(client, merchant, body, "sale-1"), await scope_of("probe"), "sale-1"
    )
    assert failed.status_code == 503, failed.text
    assert not await IdempotencyRecord.filter(key="sale-1").exists()
    done = await post_sale(client, merchant, body, "sale-1")
    assert done.status_code == 201, done.text
    again = await post_sale(client, merchant, body, "sale-1")
    assert again.json() == done.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await Sale.filter(member_id=member_id).count() == 2  # the probe and this one


async def test_a_key_whose_holder_died_is_taken_over_at_once(client: httpx.AsyncClient) -> None:
    merchant, body, member_id = await a_sale(client)
    probe = await post_sale(client, merchant, body, "probe")
    assert probe.status_code == 201
    async with key_held(await scope_of("probe"), "sale-2") as die:
        request = asyncio.create_task(post_sale(client, merchant, body, "sale-2"))
        await asyncio.sleep(0.5)
        assert not request.done(), request.result().text  # it waits for the holder, no answer invented
        die.set()
        taken_over = await asyncio.wait_for(request, timeout=30)
    assert taken_over.status_code == 201, taken_over.text
    assert await Sale.filter(member_id=member_id).count() == 2  # the probe and this one


async def test_a_key_held_by_a_live_request_answers_try_again(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.5)
    merchant, body, member_id = await a_sale(client)
    probe = await post_sale(client, merchant, body, "probe")
    assert probe.status_code == 201
    scope = await scope_of("probe")
    if BACKEND == "sqlite":
        async with impatient_sqlite(), key_held(scope, "sale-3"):
            busy = await post_sale(client, merchant, body, "sale-3")
    else:
        async with key_held(scope, "sale-3"):
            busy = await post_sale(client, merchant, body, "sale-3")
    # PostgreSQL waits for the holder up to WAIT_SECONDS; SQLite's lock wait ends as "database busy".
    expected = (409, "idempotency.in_progress") if BACKEND == "postgres" else (503, "service.unavailable")
    assert (busy.status_code, busy.json()["code"]) == expected, busy.text
    assert busy.headers["Retry-After"] == "1" or BACKEND == "sqlite"
    assert await Sale.filter(member_id=member_id).count() == 1


async def test_a_sale_outlives_its_expired_key(client: httpx.AsyncClient) -> None:
    """The stored answer expires after a day; the sale keeps the key in its own unique reference, so a
    late retry still gets that sale, and the key cannot be reused for another."""
    merchant, body, member_id = await a_sale(client)
    first = await post_sale(client, merchant, body, "sale-4")
    assert first.status_code == 201
    await IdempotencyRecord.filter(key="sale-4").update(expires_at=utcnow() - timedelta(seconds=1))
    late = await post_sale(client, merchant, body, "sale-4")
    assert late.status_code == 201 and "Idempotent-Replayed" not in late.headers, late.text
    assert late.json()["id"] == first.json()["id"]
    await IdempotencyRecord.filter(key="sale-4").update(expires_at=utcnow() - timedelta(seconds=1))
    reused = await post_sale(client, merchant, body | {"amount_fen": 4100}, "sale-4")
    assert reused.status_code == 409 and reused.json()["code"] == "sale.reference_conflict", reused.text
    assert await Sale.filter(member_id=member_id).count() == 1


async def test_a_redemption_that_met_a_failing_database_is_not_remembered(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    benefit_id = await published_benefit(client)
    voucher_id = await bought_voucher(client, merchant, member, benefit_id)
    probe = await bought_voucher(client, merchant, member, benefit_id)
    probe_body = {"token": await token_for(client, member, probe), "bill_amount_fen": 2800}
    probed = await client.post(
        "/merchant/v1/redemptions", json=probe_body, headers=merchant | {"Idempotency-Key": "probe"}
    )
    assert probed.status_code == 201, probed.text
    body = {"token": await token_for(client, member, voucher_id), "bill_amount_fen": 2800}
    headers = merchant | {"Idempotency-Key": "redeem-1"}
    failed = await failed_midway(
        lambda: client.post("/merchant/v1/redemptions", json=body, headers=headers),
        await scope_of("probe"),
        "redeem-1",
    )
    assert failed.status_code == 503, failed.text
    done = await client.post("/merchant/v1/redemptions", json=body, headers=headers)
    assert done.status_code == 201, done.text
    again = await client.post("/merchant/v1/redemptions", json=body, headers=headers)
    assert again.json() == done.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await VoucherRedemption.filter(voucher_id=voucher_id).count() == 1


async def test_a_bill_order_whose_holder_died_after_its_effect_answers_that_order(
    client: httpx.AsyncClient,
) -> None:
    """Bill orders commit before the outside call, so their key is a lease: a request that committed the
    order and died before storing its answer leaves a lapsed lease; the retry takes it over and the
    service, idempotent by the key, answers the order that exists instead of opening another."""
    biller = await bp.make_biller(client)
    member, member_id = await bp.member(client)
    due = await bp.amount_due(client, member, biller["id"], "ACC-1")
    probe = await bp.create_order(client, member, biller["id"], "ACC-9", key="probe")
    assert probe.status_code == 201, probe.text
    failed = await failed_midway(
        lambda: bp.create_order(client, member, biller["id"], "ACC-1", amount=due, key="order-1"),
        await scope_of("probe"),
        "order-1",
    )
    assert failed.status_code == 503, failed.text
    assert not await IdempotencyRecord.filter(key="order-1").exists()  # released after the failure
    first = await bp.create_order(client, member, biller["id"], "ACC-1", amount=due, key="order-1")
    assert first.status_code == 201, first.text
    # As if the process had died between the order's commit and the stored answer, a minute ago.
    await IdempotencyRecord.filter(key="order-1").update(
        status_code=None, response_body=None, locked_until=utcnow() - timedelta(seconds=1)
    )
    again = await bp.create_order(client, member, biller["id"], "ACC-1", amount=due, key="order-1")
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert await BillOrder.filter(member_id=member_id).count() == 2  # the probe and this one
