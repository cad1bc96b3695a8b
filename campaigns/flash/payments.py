"""Paying a flash order: in points through loyalty's ledger, in fen from the member's bank account.

A fen payment is a bank debit by the order's reference (`flash-order:<ticket>`, idempotent at the bank):

1. `debit_started_at` is recorded, with a settlement job deferred a little, before the bank is asked: a
   debit whose answer is lost (timeout, crash) is then settled by asking the bank for the reference;
2. the bank debits; the transaction that marks the order paid (still awaiting payment within its
   deadline: a conditional update) issues the voucher and records the bank's transaction number;
3. a debit that finds the order expired or cancelled is refunded at once; an expiry of an order whose
   debit was asked for settles it too (the bank refunds a debit, or reverses a reference it never debited,
   so a debit still in flight can never land later). Money is never kept without its voucher.
"""

from __future__ import annotations

from datetime import datetime

from app.core import bank
from app.core.config import get_settings
from app.core.db import transaction
from app.core.errors import ServiceUnavailable
from app.core.jobs import enqueue, job
from app.core.timeutil import utcnow
from campaigns.errors import InsufficientFunds, OrderCancelled, OrderExpired
from campaigns.flash import orders
from campaigns.flash.orders import Order
from campaigns.models import RELEASED, FlashWin, OrderStatus

SETTLE_AFTER_SECONDS = 30


async def pay(member_id: int, order_id: int) -> Order:
    """Pay one of the member's orders in its currency; paying a paid order answers it again."""
    order = await orders.get(member_id, order_id)
    if order.win.price_points or order.win.status == OrderStatus.PAID:
        return await orders.pay_with_points(member_id, order.win.id)
    return await _pay_fen(member_id, order.win)


async def _pay_fen(member_id: int, win: FlashWin) -> Order:
    now = utcnow()
    orders.refuse_unpayable(win, now)
    async with transaction():
        started = await FlashWin.filter(
            id=win.id, status=OrderStatus.AWAITING_PAYMENT, pay_by__gt=now, debit_started_at__isnull=True
        ).update(debit_started_at=now)
        if started:
            deferred = get_settings().flash_order_jobs_deferred
            await enqueue(settle, win.id, defer_seconds=SETTLE_AFTER_SECONDS if deferred else 0)
    reference = orders.payment_reference(win)
    try:
        debit = await bank.payment_provider().debit(member_id, reference, int(win.price_fen))
    except bank.InsufficientFunds:
        raise InsufficientFunds("the bank account cannot cover this order") from None
    except bank.PaymentReversed:  # the order expired and its reference was reversed meanwhile
        raise OrderExpired("the payment deadline has passed: the item went back on sale") from None
    except bank.BankUnavailable:
        raise ServiceUnavailable(
            "the bank did not answer; the payment will be settled automatically", code="bank.unavailable"
        ) from None
    if not await _settle_debited(win.id, debit.txn_no, utcnow()):
        current = await FlashWin.get(id=win.id)
        if current.status == OrderStatus.CANCELLED:
            raise OrderCancelled("the order was cancelled; the debit was refunded")
        raise OrderExpired("the payment deadline has passed: the debit was refunded")
    return await orders.get(member_id, win.id)


async def _settle_debited(win_id: int, txn_no: str | None, now: datetime) -> bool:
    """A debit of the order happened: mark it paid with its voucher, or refund it if too late."""
    async with transaction():
        win = await FlashWin.select_for_update().get(id=win_id)
        if win.status == OrderStatus.PAID:
            return True
        if win.status == OrderStatus.AWAITING_PAYMENT and await orders.settle_paid(win, now):
            await FlashWin.filter(id=win_id).update(bank_txn_no=txn_no)
            return True
    await orders.refund_unpaid(win_id)
    return False


async def settle_now(win_id: int) -> str:
    """Settle an order whose debit was asked for by asking the bank: paid, refunded, or left (still
    payable, nothing debited). Safe to run twice and concurrently with the payment itself."""
    win = await FlashWin.get_or_none(id=win_id)
    if win is None or win.debit_started_at is None or win.price_fen == 0:
        return "none"
    if win.status == OrderStatus.PAID:
        return "paid"
    if win.status in RELEASED:
        await orders.refund_unpaid(win_id)
        return "refunded"
    status = await bank.payment_provider().status(orders.payment_reference(win))
    if status.state == bank.DebitState.DEBITED:
        return "paid" if await _settle_debited(win_id, status.txn_no, utcnow()) else "refunded"
    return "open"


@job("campaigns.flash_settle_payment")
async def settle(win_id: int) -> str:
    """A bank debit of a flash order was asked for: settle it by the bank's record (safe to run twice)."""
    return await settle_now(win_id)
