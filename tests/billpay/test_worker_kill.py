"""A real `linli worker` is killed (SIGKILL) while it confirms bill orders with the biller, after the biller
recorded them but before we did; another worker then finishes each order exactly once, with its loyalty:
points once for the success, the voucher used by the success and given back by the refund."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from loyalty.models import Journal
from miniprogram_api.billpay.models import BillOrder, SimBankPayment, SimBillerPayment
from tests.billpay.support import (
    OPENING,
    balance,
    bill_voucher,
    biller_payments,
    history,
    make_biller,
    member,
    paid_order,
    points,
    quick_billpay_jobs,  # noqa: F401  (autouse fixture)
    voucher_status,
)
from tests.loyalty.support import assert_ledger_sound

# arq takes a job back from a dead worker when its in-progress mark expires: the job timeout + 10 s.
JOB_TIMEOUT = 6


@contextmanager
def linli_worker(log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `linli worker` process on the test database and Redis."""
    env = os.environ | {
        "LINLI_JOB_TIMEOUT": str(JOB_TIMEOUT),
        "LINLI_LOG_LEVEL": "WARNING",
        "LINLI_BILLPAY_CONFIRM_BACKOFF": "0",
        "LINLI_BILLPAY_PAYMENT_CHECK_DELAY": "0",
    }
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], env=env, stdout=sink, stderr=sink
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float, log: Path) -> None:
    """Poll until `check` holds (the deadline only bounds a broken run; nothing is timed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"never saw: {what}\nworker log:\n{log.read_text(errors='replace')[-4000:]}")
        await asyncio.sleep(0.05)


async def test_killed_worker_mid_confirmation_ends_each_order_exactly_once(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    biller = await make_biller(client, adapter_config={"slow_ms": 120_000})
    alice, alice_id = await member(client, "alice")
    bob, bob_id = await member(client, "bob")
    alice_voucher = await bill_voucher(client, alice_id)
    bob_voucher = await bill_voucher(client, bob_id)
    # 93…: the biller records the payment, then takes two minutes to answer. 95…: same, but a rejection.
    paying = await paid_order(client, alice, biller["id"], "9300000001", voucher_id=alice_voucher)
    rejected = await paid_order(client, bob, biller["id"], "9500000001", voucher_id=bob_voucher)
    assert paying["discount"] == rejected["discount"] == 1_000
    refs = [paying["ref"], rejected["ref"]]

    async def biller_has_both() -> bool:
        return await SimBillerPayment.filter(order_ref__in=refs).count() == 2

    with linli_worker(log) as first:
        await eventually(biller_has_both, "the biller receiving both payments", 60, log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL

    # Killed between the biller's answer and ours: both orders are still confirming, both still debited.
    for order in (paying, rejected):
        assert (await BillOrder.get(id=order["id"])).state == "confirming"
    assert await balance(alice_id) == OPENING - paying["total"]
    assert await balance(bob_id) == OPENING - rejected["total"]
    assert await points(alice_id) == await points(bob_id) == 0
    assert await voucher_status(alice_voucher) == await voucher_status(bob_voucher) == "used"

    async def both_finished() -> bool:
        states = {o.state for o in await BillOrder.filter(id__in=[paying["id"], rejected["id"]])}
        return states == {"succeeded", "refunded"}

    with linli_worker(log):
        await eventually(both_finished, "the second worker finishing both orders", 90, log)

    assert await history(paying["id"]) == ["created", "paid", "confirming", "succeeded"]
    assert await history(rejected["id"]) == ["created", "paid", "confirming", "failed", "refunded"]
    # exactly once: one biller record each, one bank debit each, one refund, balances right
    assert [p.accepted for p in await biller_payments(paying["ref"])] == [True]
    assert [p.accepted for p in await biller_payments(rejected["ref"])] == [False]
    bank = {p.reference: p.status for p in await SimBankPayment.filter(reference__in=refs)}
    assert bank == {paying["ref"]: "debited", rejected["ref"]: "refunded"}
    assert await balance(alice_id) == OPENING - paying["total"]
    assert await balance(bob_id) == OPENING
    # loyalty: points once for the success, none for the refund; the refund gave its voucher back
    expected = (paying["amount"] - 1_000) // 100
    assert (await BillOrder.get(id=paying["id"])).points == expected == await points(alice_id)
    assert await Journal.filter(reference=f"billpay:{paying['id']}").count() == 1
    assert await points(bob_id) == 0 and not await Journal.exists(reference=f"billpay:{rejected['id']}")
    assert await voucher_status(alice_voucher) == "used"
    assert await voucher_status(bob_voucher) == "active"
    await assert_ledger_sound()
