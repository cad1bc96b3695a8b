"""Bill-payment jobs and cron jobs, listed for `app/worker.py`."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from arq.cron import CronJob, cron

from app.core.db import transaction
from app.core.jobs import Job, enqueue, job
from miniprogram_api.billpay import reconciliation, reminders, state_machine

log = logging.getLogger("linli.billpay")


@job("billpay.reconcile")
async def reconcile(biller_id: int, day: str) -> None:
    """Reconcile one biller's business day (`YYYY-MM-DD`)."""
    await reconciliation.reconcile(biller_id, date.fromisoformat(day))


async def queue_reconciliations(day: date, biller_ids: list[int]) -> None:
    """Ask for the reconciliation of `day` for each biller."""
    async with transaction():
        for biller_id in biller_ids:
            await enqueue(reconcile, biller_id, day.isoformat())


async def _reconcile_yesterday(ctx: dict[str, Any]) -> None:
    day = reconciliation.day_to_reconcile()
    if day is not None:
        pending = await reconciliation.billers_pending(day)
        if pending:
            await queue_reconciliations(day, pending)


async def _resume_overdue(ctx: dict[str, Any]) -> None:
    await state_machine.resume_overdue()


async def _expire_unpaid(ctx: dict[str, Any]) -> None:
    cancelled = await state_machine.expire_unpaid()
    if cancelled:
        log.info("cancelled %s expired unpaid bill orders", cancelled)


async def _queue_reminders(ctx: dict[str, Any]) -> None:
    await reminders.queue_due()


TASKS: list[Job] = [
    state_machine.confirm,
    state_machine.refund_order,
    state_machine.settle_payment,
    state_machine.notify_order,
    reminders.send_reminder,
    reconcile,
]

CRON_JOBS: list[CronJob] = [
    cron(_resume_overdue, name="billpay.resume_overdue", second={30}, unique=True),
    cron(_expire_unpaid, name="billpay.expire_unpaid", second={15}, unique=True),
    cron(_reconcile_yesterday, name="billpay.reconcile_yesterday", minute={30}, second={0}, unique=True),
    cron(
        _queue_reminders,
        name="billpay.queue_reminders",
        minute=set(range(5, 60, 10)),
        second={0},
        unique=True,
    ),
]
