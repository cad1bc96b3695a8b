"""Idempotency tells the truth under database faults: 20 cashiers record sales with Idempotency-Keys
while the database keeps failing under them (PostgreSQL: every backend really terminated every 100 ms;
SQLite: another connection really holding the write lock half of the time), each retrying its key
until it gets an answer. The member codes expire during the run, so a retry that ran the business
checks again over a sale that had committed would answer 410 and the cashier would redo the sale."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import httpx

from loyalty.models import Sale
from tests.conftest import _SQLITE_FILE, BACKEND
from tests.core.test_db_faults import impatient_sqlite, terminate
from tests.loyalty.support import active_merchant, assert_ledger_sound, balance, joined_member, signed

CASHIERS = 20
FAULT_SECONDS = 3.0
FINAL = {201, 410}  # the sale, or the code had expired before any attempt committed


def code_expiring_in(member_id: int, seconds: int) -> str:
    """A correctly signed member code that stops working `seconds` from now."""
    return signed(f"LM1.{member_id}.{int(time.time()) + seconds}.faultfaultfa")


async def keep_failing(stop: asyncio.Event, faults: list[int]) -> None:
    """Break the database under the app for FAULT_SECONDS, then set `stop`."""
    deadline = time.monotonic() + FAULT_SECONDS
    try:
        if BACKEND == "postgres":
            while time.monotonic() < deadline:
                faults.append(await terminate())
                await asyncio.sleep(0.1)
            return
        async with impatient_sqlite():
            while time.monotonic() < deadline:
                other = sqlite3.connect(
                    _SQLITE_FILE, isolation_level=None, timeout=5, check_same_thread=False
                )
                try:
                    # Taken in a thread: the app's write transaction must go on to end while we wait.
                    await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
                    faults.append(1)
                    await asyncio.sleep(0.1)
                finally:
                    other.rollback()
                    other.close()
                await asyncio.sleep(0.1)
    finally:
        stop.set()


async def test_every_key_answers_with_what_committed_under_connection_kills(
    client: httpx.AsyncClient,
) -> None:
    merchant, merchant_id = await active_merchant(client)
    members = [await joined_member(client, f"cashier-{n}") for n in range(CASHIERS)]
    requests: dict[str, dict[str, Any]] = {}
    finals: dict[str, httpx.Response] = {}
    seen: list[int] = []
    stop = asyncio.Event()
    faults: list[int] = []

    async def cashier(n: int) -> None:
        """One till: sale after sale while the faults last, each retried with its key until answered."""
        member_id = members[n][1]
        while not stop.is_set():
            key = f"till-{n}-{len(requests)}"
            body = {"member_code": code_expiring_in(member_id, 2), "amount_fen": 1000 + n}
            requests[key] = body
            while True:
                answer = await client.post(
                    "/merchant/v1/sales", json=body, headers=merchant | {"Idempotency-Key": key}
                )
                seen.append(answer.status_code)
                if answer.status_code in FINAL:
                    finals[key] = answer
                    break
                assert answer.status_code in (503, 409), answer.text
                if answer.status_code == 409:
                    assert answer.json()["code"] == "idempotency.in_progress", answer.text
                await asyncio.sleep(0.05)

    killer = asyncio.create_task(keep_failing(stop, faults))
    await asyncio.wait_for(asyncio.gather(*(cashier(n) for n in range(CASHIERS))), timeout=120)
    await killer
    assert sum(faults) > 0 and seen.count(503) >= 3, f"the faults hardly met a request: {seen}"
    await asyncio.sleep(2)  # every code of the run has expired now

    # Faults over: one more try of each key answers at once, with the same thing, from the record.
    for key, body in requests.items():
        again = await client.post(
            "/merchant/v1/sales", json=body, headers=merchant | {"Idempotency-Key": key}
        )
        assert (again.status_code, again.json()) == (finals[key].status_code, finals[key].json()), key
        assert again.headers["Idempotent-Replayed"] == "true"

    # What was answered is what the database holds: a sale per 201, none per 410, points to match.
    for n, (member_headers, member_id) in enumerate(members):
        mine = [
            f.json() for key, f in finals.items() if key.startswith(f"till-{n}-") and f.status_code == 201
        ]
        sales = await Sale.filter(member_id=member_id, merchant_id=merchant_id).order_by("id")
        assert [s.id for s in sales] == sorted(sale["id"] for sale in mine), n
        assert await balance(client, member_headers) == sum(sale["points"] for sale in mine)
    refused = [f.json()["code"] for f in finals.values() if f.status_code == 410]
    assert set(refused) <= {"member_code.expired"}
    assert sum(f.status_code == 201 for f in finals.values()) >= CASHIERS
    print(f"\n{len(requests)} sales asked, {len(seen)} answers: {sorted(set(seen))}, 503s {seen.count(503)}")
    await assert_ledger_sound()
