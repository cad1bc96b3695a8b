"""Daily reconciliation (对账): our succeeded orders of a business day against each biller's statement.

Orders are matched by our reference. Every disagreement becomes a mismatch for ops: a payment the biller
has but we refunded or never confirmed, a success of ours the biller does not know, an unknown reference,
or a different amount. Running a day again replaces its unresolved mismatches and keeps resolved ones.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.db import transaction
from app.core.timeutil import BUSINESS_TZ, utcnow
from miniprogram_api.billpay import repository
from miniprogram_api.billpay.adapters import biller_adapter, within_deadline
from miniprogram_api.billpay.adapters.biller import StatementLine
from miniprogram_api.billpay.errors import MismatchAlreadyResolved
from miniprogram_api.billpay.models import (
    Biller,
    BillOrder,
    MismatchKind,
    OrderState,
    ReconciliationMismatch,
    ReconciliationRun,
)

log = logging.getLogger("linli.billpay.reconciliation")

RUN_AFTER_HOUR = 2  # Asia/Shanghai: the previous day is reconciled from 02:00 on
_CHUNK = 500


async def _orders_by_ref(refs: list[str]) -> dict[str, BillOrder]:
    found: dict[str, BillOrder] = {}
    for start in range(0, len(refs), _CHUNK):
        for order in await BillOrder.filter(ref__in=refs[start : start + _CHUNK]):
            found[order.ref] = order
    return found


def _finding(
    kind: MismatchKind, ref: str, order: BillOrder | None, biller_amount: int | None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "order_ref": ref,
        "order_id": order.id if order else None,
        "our_state": order.state.value if order else None,
        "our_amount": order.amount if order else None,
        "biller_amount": biller_amount,
    }


def compare(
    biller: Biller, lines: list[StatementLine], ours: dict[str, BillOrder], others: dict[str, BillOrder]
) -> tuple[int, list[dict[str, Any]]]:
    """Matched count and mismatches of a statement against our succeeded orders (`others`: any state)."""
    matched = 0
    findings: list[dict[str, Any]] = []
    for line in lines:
        order = ours.get(line.order_ref) or others.get(line.order_ref)
        if order is None or order.biller_id != biller.id:
            findings.append(_finding(MismatchKind.UNKNOWN_ORDER, line.order_ref, None, line.amount))
        elif order.state is not OrderState.SUCCEEDED:
            findings.append(_finding(MismatchKind.PAID_BUT_NOT_SUCCEEDED, line.order_ref, order, line.amount))
        elif order.amount != line.amount:
            findings.append(_finding(MismatchKind.AMOUNT_DIFFERS, line.order_ref, order, line.amount))
        else:
            matched += 1
    on_statement = {line.order_ref for line in lines}
    for ref, order in ours.items():
        if ref not in on_statement:
            findings.append(_finding(MismatchKind.MISSING_AT_BILLER, ref, order, None))
    return matched, findings


async def reconcile(biller_id: int, day: date) -> ReconciliationRun:
    """Compare one biller's statement of `day` with our orders and record the outcome."""
    biller = await repository.any_biller(biller_id)
    lines = await within_deadline(biller_adapter(biller).statement(day))
    ours = {
        o.ref: o
        for o in await BillOrder.filter(biller_id=biller.id, biller_day=day, state=OrderState.SUCCEEDED)
    }
    others = await _orders_by_ref([line.order_ref for line in lines if line.order_ref not in ours])
    matched, findings = compare(biller, lines, ours, others)
    async with transaction():
        run, _ = await ReconciliationRun.update_or_create(
            biller_id=biller.id,
            day=day,
            defaults={
                "matched": matched,
                "mismatched": len(findings),
                "our_total": sum(o.amount for o in ours.values()),
                "biller_total": sum(line.amount for line in lines),
                "finished_at": utcnow(),
            },
        )
        settled = set(
            await ReconciliationMismatch.filter(run_id=run.id, resolved_at__isnull=False).values_list(
                "order_ref", flat=True
            )
        )
        await ReconciliationMismatch.filter(run_id=run.id, resolved_at__isnull=True).delete()
        await ReconciliationMismatch.bulk_create(
            [ReconciliationMismatch(run_id=run.id, **f) for f in findings if f["order_ref"] not in settled]
        )
    if findings:
        log.warning("reconciliation of %s on %s: %s mismatches", biller.code, day, len(findings))
    return run


def day_to_reconcile(at: datetime | None = None) -> date | None:
    """Yesterday (Asia/Shanghai) once it is past 02:00 there, else None."""
    local = (at or utcnow()).astimezone(BUSINESS_TZ)
    return local.date() - timedelta(days=1) if local.hour >= RUN_AFTER_HOUR else None


async def billers_pending(day: date) -> list[int]:
    """Billers with no reconciliation of `day` yet."""
    done = {run.biller_id for run in await ReconciliationRun.filter(day=day).only("id", "biller_id")}
    return [b.id for b in await Biller.all().only("id") if b.id not in done]


async def resolve(operator: Principal, mismatch_id: int, note: str) -> ReconciliationMismatch:
    """Mark a mismatch settled by ops, with their note."""
    async with transaction():
        row = await repository.mismatch(mismatch_id)
        resolved = await ReconciliationMismatch.filter(id=row.id, resolved_at__isnull=True).update(
            resolved_at=utcnow(), resolved_by=operator.id, resolution_note=note
        )
        if not resolved:
            raise MismatchAlreadyResolved("this mismatch was already resolved")
        await audit.record(
            operator, "billpay.mismatch_resolve", "bill_mismatch", row.id, after={"note": note}
        )
    return await repository.mismatch(mismatch_id)
