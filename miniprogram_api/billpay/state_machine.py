"""The bill-order state machine and the jobs that drive it.

created → paid → confirming → succeeded | failed → refunded, and created → cancelled. Every move is a
conditional update on the current state plus a transition row (unique per order and target state), so
concurrent or repeated jobs move an order at most once. External calls (bank, biller) happen outside
transactions and are idempotent by the order reference, so every job is safe to run twice.

Money is never lost: the biller is only paid for an order in `paid`/`confirming`, reached only through a
standing bank debit; every failure after the debit goes through `failed`, whose job refunds; an order
cancelled while a debit may be in flight is reversed at the bank, which refunds a debit that landed and
refuses one that lands later.

Loyalty: `succeed()` awards the order's points (reference `billpay:<order id>`) in the success
transaction; entering `failed` or `cancelled` gives back what the order held (its voucher, and points if
any were awarded) in the transaction of that move, so a voucher is only ever used by an order that is in
flight or succeeded, and points exist only for succeeded orders.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

from app.core.config import get_settings
from app.core.crypto import decrypt
from app.core.db import transaction
from app.core.errors import ProblemError
from app.core.jobs import Job, enqueue, job
from app.core.timeutil import business_day, utcnow
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import MessageKind
from miniprogram_api.billpay.adapters import biller_adapter, notifier, payment_provider, within_deadline
from miniprogram_api.billpay.adapters.bank import DebitState, DebitStatus
from miniprogram_api.billpay.adapters.biller import (
    BillerUnavailable,
    PaymentResult,
    PaymentStatus,
)
from miniprogram_api.billpay.adapters.notify import Notification
from miniprogram_api.billpay.billers import points_for
from miniprogram_api.billpay.models import (
    TRANSITIONS,
    Biller,
    BillOrder,
    BillOrderTransition,
    OrderState,
)

log = logging.getLogger("linli.billpay")

MAX_BACKOFF_SECONDS = 600
GAVE_UP_REASON = "The biller did not confirm the payment in time; the amount is refunded."


def loyalty_reference(order_id: int) -> str:
    """The reference of an order's points journal and voucher redemption in loyalty."""
    return f"billpay:{order_id}"


# Moves after which an order holds nothing of loyalty's: its voucher and points are given back.
RELEASING_STATES = frozenset({OrderState.FAILED, OrderState.CANCELLED})


async def release_loyalty(order_id: int) -> None:
    """Give back what an order that failed or was cancelled holds: its voucher, and points if awarded.

    Idempotent (loyalty reverses each reference once); runs inside the transition's transaction.
    """
    order = await BillOrder.get(id=order_id)
    reference = loyalty_reference(order.id)
    if order.voucher_id is not None:
        await loyalty_vouchers.reverse_voucher_for_bill(reference)
    if order.points:
        await loyalty_ledger.reverse_points(reference, memo=f"bill order {order.ref} reversed")
        if order.points_reversed_at is None:
            await BillOrder.filter(id=order.id).update(points_reversed_at=utcnow())


async def award_points(order: BillOrder) -> int:
    """Credit a succeeded order's points through loyalty (idempotent by `billpay:<order id>`).

    A refusal by loyalty (e.g. the member was removed) is logged and the order keeps 0 points: it never
    blocks the success of a payment the biller has.
    """
    biller = await Biller.get(id=order.biller_id)
    points = points_for(biller, order.amount, order.discount)
    if points <= 0:
        return 0
    try:
        async with transaction():
            await loyalty_ledger.earn_points(
                order.member_id,
                points,
                source=loyalty_ledger.EarnSource.BILL_PAYMENT,
                reference=loyalty_reference(order.id),
                memo=f"bill order {order.ref}",
            )
            await BillOrder.filter(id=order.id).update(points=points)
    except ProblemError as exc:
        log.warning("bill order %s: no points awarded: %s", order.ref, exc)
        return 0
    return points


def confirm_backoff(attempt: int) -> int:
    """Seconds to wait after a failed confirmation attempt: the base, doubling, at most ten minutes."""
    base = get_settings().billpay_confirm_backoff
    return math.ceil(min(base * 2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS))


async def transition(
    order_id: int,
    source: OrderState,
    target: OrderState,
    *,
    note: str | None = None,
    where: dict[str, Any] | None = None,
    **changes: Any,
) -> bool:
    """Move an order from `source` to `target` if it is still in `source`; False when it was not."""
    if target not in TRANSITIONS[source]:
        raise ValueError(f"bill order cannot go from {source} to {target}")
    async with transaction():
        moved = await BillOrder.filter(id=order_id, state=source, **(where or {})).update(
            state=target, updated_at=utcnow(), **changes
        )
        if moved:
            await BillOrderTransition.create(
                order_id=order_id, from_state=source.value, to_state=target.value, note=note
            )
            if target in RELEASING_STATES:
                await release_loyalty(order_id)
    return bool(moved)


async def mark_paid(order_id: int, debit: DebitStatus) -> bool:
    """The bank debit stands: the order is paid and its confirmation with the biller is queued."""
    now = utcnow()
    async with transaction():
        moved = await transition(
            order_id,
            OrderState.CREATED,
            OrderState.PAID,
            bank_txn=debit.txn_no,
            paid_at=now,
            attempt=1,
            due_at=now,
        )
        if moved:
            await enqueue(confirm, order_id, 1)
    return moved


async def succeed(order: BillOrder, result: PaymentResult) -> bool:
    """The one place an order becomes succeeded: everything a success grants (its loyalty points) happens
    in this transaction."""
    async with transaction():
        moved = await transition(
            order.id,
            OrderState.CONFIRMING,
            OrderState.SUCCEEDED,
            receipt_no=result.receipt_no,
            biller_day=result.business_day or business_day(),
            succeeded_at=utcnow(),
            due_at=None,
            last_error=None,
        )
        if moved:
            await award_points(order)
            await enqueue(notify_order, order.id, OrderState.SUCCEEDED.value)
    return moved


async def fail(order: BillOrder, code: str, reason: str) -> bool:
    """The one place a debited order fails: its voucher (and any points) are given back by the move to
    `failed` (see `transition`) and the refund queued, in this transaction."""
    now = utcnow()
    async with transaction():
        moved = await transition(
            order.id,
            OrderState.CONFIRMING,
            OrderState.FAILED,
            note=code,
            failure_code=code,
            failure_reason=reason[:255],
            failed_at=now,
            due_at=now,
        )
        if moved:
            await enqueue(refund_order, order.id)
    return moved


async def reverse_success(order: BillOrder, code: str, reason: str) -> bool:
    """Reverse a succeeded order the biller does not have (ops, after reconciliation): it fails, its points
    are taken back and its voucher restored by the move, and the refund is queued, in one transaction."""
    now = utcnow()
    async with transaction():
        moved = await transition(
            order.id,
            OrderState.SUCCEEDED,
            OrderState.FAILED,
            note=code,
            failure_code=code,
            failure_reason=reason[:255],
            failed_at=now,
            due_at=now,
            points_reversed_at=now if order.points else None,
        )
        if moved:
            await enqueue(refund_order, order.id)
    return moved


async def _retry_later(order: BillOrder, attempt: int, error: str) -> None:
    if attempt >= get_settings().billpay_confirm_max_attempts:
        log.warning("bill order %s: biller never confirmed, refunding", order.ref)
        await fail(order, "biller_unavailable", GAVE_UP_REASON)
        return
    delay = confirm_backoff(attempt)
    now = utcnow()
    async with transaction():
        scheduled = await BillOrder.filter(id=order.id, state=OrderState.CONFIRMING, attempt=attempt).update(
            attempt=attempt + 1, due_at=now + timedelta(seconds=delay), last_error=error[:255], updated_at=now
        )
        if scheduled:
            await enqueue(confirm, order.id, attempt + 1, defer_seconds=delay)


async def _ask_biller(order: BillOrder, attempt: int) -> PaymentResult:
    adapter = biller_adapter(await Biller.get(id=order.biller_id))
    result = PaymentResult(PaymentStatus.NOT_FOUND)
    if attempt > 1:  # an earlier attempt may have reached the biller: ask before paying again
        result = await within_deadline(adapter.query(order.ref))
    if result.status is PaymentStatus.NOT_FOUND:
        account_no = decrypt(order.account_enc)
        result = await within_deadline(adapter.pay(order.ref, account_no, order.amount, order.period))
    return result


@job("billpay.confirm")
async def confirm(order_id: int, attempt: int) -> None:
    """Confirm a paid order with the biller (attempt `attempt`); timeouts are retried with backoff."""
    order = await BillOrder.get_or_none(id=order_id)
    if order is None or order.attempt != attempt:
        return
    if order.state is OrderState.PAID:
        await transition(order.id, OrderState.PAID, OrderState.CONFIRMING)
    elif order.state is not OrderState.CONFIRMING:
        return
    try:
        result = await _ask_biller(order, attempt)
    except BillerUnavailable as exc:
        await _retry_later(order, attempt, str(exc) or "biller unavailable")
        return
    if result.status is PaymentStatus.SUCCEEDED:
        await succeed(order, result)
    elif result.status is PaymentStatus.REJECTED:
        await fail(
            order,
            result.reason_code or "biller_rejected",
            result.reason or "The biller rejected the payment.",
        )
    else:
        await _retry_later(order, attempt, "the biller is still processing the payment")


@job("billpay.refund")
async def refund_order(order_id: int) -> None:
    """Give a failed order's debit back to the member (the bank refunds each reference once)."""
    order = await BillOrder.get_or_none(id=order_id)
    if order is None or order.state is not OrderState.FAILED:
        return
    refund = await payment_provider().refund(order.ref)
    async with transaction():
        moved = await transition(
            order.id,
            OrderState.FAILED,
            OrderState.REFUNDED,
            refund_txn=refund.refund_txn_no,
            refunded_at=utcnow(),
            due_at=None,
        )
        if moved:
            await enqueue(notify_order, order.id, OrderState.REFUNDED.value)


@job("billpay.settle_payment")
async def settle_payment(order_id: int) -> None:
    """Find out what became of a payment that started: mark the order paid, or cancel and reverse it."""
    order = await BillOrder.get_or_none(id=order_id)
    if order is None:
        return
    now = utcnow()
    if order.state is OrderState.CREATED:
        debit = await payment_provider().status(order.ref)
        if debit.state is DebitState.DEBITED:
            await mark_paid(order.id, debit)
            return
        if now < order.expires_at:  # the member may still retry: look again when the order expires
            wait = math.ceil((order.expires_at - now).total_seconds())
            async with transaction():
                if await BillOrder.filter(id=order.id, state=OrderState.CREATED, due_at=order.due_at).update(
                    due_at=order.expires_at
                ):
                    await enqueue(settle_payment, order.id, defer_seconds=wait)
            return
        # Cancel first, reverse second: once cancelled the order can no longer become paid.
        if not await transition(
            order.id, OrderState.CREATED, OrderState.CANCELLED, note="payment_not_completed", cancelled_at=now
        ):
            return
    elif order.state is not OrderState.CANCELLED or order.due_at is None:
        return
    reversal = await payment_provider().refund(order.ref)
    returned = reversal.state is DebitState.REFUNDED
    await BillOrder.filter(id=order.id, state=OrderState.CANCELLED).update(
        due_at=None,
        refund_txn=reversal.refund_txn_no,
        refunded_at=utcnow() if returned else None,
        updated_at=utcnow(),
    )


@job("billpay.notify_order")
async def notify_order(order_id: int, state: str) -> None:
    """Tell the member their bill order succeeded or was refunded."""
    order = await BillOrder.get_or_none(id=order_id).prefetch_related("biller")
    if order is None:
        return
    earned = order.points and not order.points_reversed_at
    variables = {
        "amount": f"¥{order.total / 100:.2f}",
        "biller": order.biller.name,
        "receipt": order.receipt_no or "",
        "reason": order.failure_reason or "",
        "points": f" You earned {order.points} points." if earned else "",
    }
    kind = MessageKind.BILL_PAID if OrderState(state) is OrderState.SUCCEEDED else MessageKind.BILL_REFUNDED
    await notifier().send(
        Notification(
            member_id=order.member_id,
            kind=kind,
            dedupe_key=f"bill-order:{order.id}:{state}",
            variables=variables,
        )
    )


async def expire_unpaid(limit: int = 1000) -> int:
    """Cancel unpaid orders past their expiry whose payment never started."""
    now = utcnow()
    expired = (
        await BillOrder.filter(state=OrderState.CREATED, payment_started_at__isnull=True, expires_at__lt=now)
        .limit(limit)
        .only("id")
    )
    cancelled = 0
    for order in expired:
        cancelled += await transition(
            order.id,
            OrderState.CREATED,
            OrderState.CANCELLED,
            note="expired",
            where={"payment_started_at__isnull": True},
            cancelled_at=now,
        )
    return cancelled


def _next_job(order: BillOrder) -> tuple[Job, tuple[Any, ...]]:
    if order.state in (OrderState.PAID, OrderState.CONFIRMING):
        return confirm, (order.id, order.attempt)
    if order.state is OrderState.FAILED:
        return refund_order, (order.id,)
    return settle_payment, (order.id,)


async def resume_overdue(limit: int = 500) -> int:
    """Enqueue again the job of every order overdue by `billpay_stuck_after` (its job died or got lost)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=get_settings().billpay_stuck_after)
    overdue = await BillOrder.filter(due_at__lt=cutoff).order_by("due_at").limit(limit)
    resumed = 0
    for order in overdue:
        job_fn, args = _next_job(order)
        async with transaction():
            claimed = await BillOrder.filter(id=order.id, state=order.state, due_at=order.due_at).update(
                due_at=now
            )
            if claimed:
                await enqueue(job_fn, *args)
                resumed += 1
    if resumed:
        log.warning("re-enqueued %s overdue bill orders", resumed)
    return resumed
