"""Faults: a real `linli worker` killed with SIGKILL while it retires expired points."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta

import httpx

from app.core.db import transaction
from app.core.jobs import enqueue
from app.core.timeutil import utcnow
from loyalty.ledger import postings as ledger
from loyalty.ledger.tasks import EXPIRY_BATCH, expire_members, expire_points
from loyalty.models import AccountKind, Journal, Member, PointsAccount, PointsLot
from tests.loyalty.support import assert_ledger_sound

MEMBERS = 300


async def test_a_worker_killed_mid_expiry_retires_every_lot_exactly_once(client: httpx.AsyncClient) -> None:
    a_year_ago = utcnow() - timedelta(days=400)
    member_ids = []
    for n in range(MEMBERS):
        member = await Member.create(openid=f"fault_{n}")
        await PointsAccount.create(member_id=member.id, balance=0)
        await ledger.post_earn(
            member.id,
            10,
            source="campaign",
            reference=f"old:{n}",
            funding=[(AccountKind.POOL, 0, 10)],
            at=a_year_ago,
        )
        member_ids.append(member.id)
    linli = os.path.join(os.path.dirname(sys.executable), "linli")
    worker = await asyncio.create_subprocess_exec(
        linli,
        "worker",
        env=os.environ.copy(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    now = utcnow()
    try:
        async with transaction():
            await enqueue(expire_points, now.isoformat())
        for _ in range(3000):  # kill it as soon as it has started retiring
            if await Journal.filter(kind="expire").exists() or worker.returncode is not None:
                break
            await asyncio.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), timeout=30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == -signal.SIGKILL
    assert await Journal.filter(kind="expire").exists()

    # arq hands the killed jobs to another worker once their lock times out: the same batches run again,
    # some of them a second time after they completed.
    for start in range(0, MEMBERS, EXPIRY_BATCH):
        await expire_members(member_ids[start : start + EXPIRY_BATCH], now.isoformat())
    await expire_members(member_ids, now.isoformat())

    assert await Journal.filter(kind="expire").count() == MEMBERS
    assert await PointsLot.filter(remaining__gt=0).count() == 0
    assert await PointsAccount.filter(balance__gt=0).count() == 0
    await assert_ledger_sound()
