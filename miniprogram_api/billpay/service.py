"""Bill orders for members: create, pay and cancel, and their views. The state machine behind an order
is in `state_machine`, bill lookup in `bills`, saved accounts in `accounts`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.crypto import decrypt, encrypt, lookup_hash
from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.idempotency import current_reference
from app.core.jobs import enqueue
from app.core.timeutil import utcnow
from loyalty import vouchers as loyalty_vouchers
from miniprogram_api.billpay import adapters, billers, repository, state_machine
from miniprogram_api.billpay.adapters import bank as bank_api
from miniprogram_api.billpay.adapters import biller as biller_api
from miniprogram_api.billpay.adapters.biller import Bill, PaymentStatus
from miniprogram_api.billpay.bills import bill_lookup, biller_brief, mask_for
from miniprogram_api.billpay.errors import (
    AmountMismatch,
    BankUnavailable,
    BillerUnavailable,
    InsufficientFunds,
    NothingDue,
    OrderExpired,
    OrderNotCancellable,
    OrderNotPayable,
    OrderNotReversible,
    PaidAtBiller,
    PaymentInProgress,
)
from miniprogram_api.billpay.models import (
    Biller,
    BillerType,
    BillOrder,
    BillOrderTransition,
    HouseholdAccount,
    OrderState,
)
from miniprogram_api.billpay.schemas import (
    BillVoucherOut,
    FailureOut,
    OpsOrderOut,
    OrderIn,
    OrderOut,
    PaymentAccountOut,
    ReceiptOut,
    TransitionOut,
)


def _new_ref() -> str:
    return f"BP{utcnow():%y%m%d}{secrets.token_hex(6).upper()}"


def _request_hash() -> str | None:
    reference = current_reference()
    return hashlib.sha256(reference.encode()).hexdigest() if reference else None


async def _order_target(member_id: int, body: OrderIn) -> tuple[Biller, str, HouseholdAccount | None]:
    if body.household_account_id is not None:
        account = await repository.household_account(member_id, body.household_account_id)
        return await repository.active_biller(account.biller_id), decrypt(account.account_enc), account
    assert body.biller_id is not None and body.account_no is not None
    return await repository.active_biller(body.biller_id), body.account_no, None


async def _check_amount(biller: Biller, account_no: str, amount: int) -> Bill:
    bill = await bill_lookup(biller, account_no)
    if biller.type is BillerType.PHONE_TOPUP:
        if amount not in billers.TOPUP_AMOUNTS:
            choices = ", ".join(str(a) for a in billers.TOPUP_AMOUNTS)
            raise InvalidField(
                "amount", f"top-up amount must be one of {choices} (fen)", code="bill.topup_amount_invalid"
            )
        return bill
    if not bill.amount_due:
        raise NothingDue("nothing is due on this account")
    if amount != bill.amount_due:
        raise AmountMismatch(
            f"the biller says {bill.amount_due} fen is due, not {amount}", amount_due=bill.amount_due
        )
    in_flight = await BillOrder.exists(
        biller_id=biller.id,
        account_hash=lookup_hash(account_no),
        period=bill.period,
        state__in=[OrderState.PAID, OrderState.CONFIRMING],
    )
    if in_flight:
        raise PaymentInProgress("a payment of this bill is being confirmed")
    return bill


async def create_order(member_id: int, body: OrderIn) -> BillOrder:
    """Check the amount with the biller and open an order (state created, its biller loaded) to pay."""
    request_hash = _request_hash()
    if request_hash and (done := await BillOrder.get_or_none(request_hash=request_hash)):
        await done.fetch_related("biller")
        return done
    biller, account_no, account = await _order_target(member_id, body)
    bill = await _check_amount(biller, account_no, body.amount)
    quote = billers.quote(biller, body.amount)
    now = utcnow()
    # The order is written first (its id is the voucher redemption's reference), then the voucher is used
    # and its discount taken off the total, all in one transaction: a refused voucher leaves no order.
    try:
        async with transaction():
            order = await BillOrder.create(
                ref=_new_ref(),
                member_id=member_id,
                biller=biller,
                household_account=account,
                account_hash=lookup_hash(account_no),
                account_enc=encrypt(account_no),
                account_mask=mask_for(biller, account_no),
                period=bill.period,
                amount=quote.amount,
                fee=quote.fee,
                discount=quote.discount,
                total=quote.total,
                request_hash=request_hash,
                expires_at=now + timedelta(seconds=get_settings().billpay_order_ttl),
            )
            await BillOrderTransition.create(order_id=order.id, from_state=None, to_state=OrderState.CREATED)
            if body.voucher_id is not None:
                await _use_voucher(order, biller, body.voucher_id)
    except IntegrityError:
        if request_hash and (done := await BillOrder.get_or_none(request_hash=request_hash)):
            await done.fetch_related("biller")
            return done
        raise
    return order


async def _use_voucher(order: BillOrder, biller: Biller, voucher_id: int) -> None:
    used = await loyalty_vouchers.redeem_voucher_for_bill(
        order.member_id, voucher_id, order.amount, reference=state_machine.loyalty_reference(order.id)
    )
    quote = billers.quote(biller, order.amount, used.discount_fen)
    order.voucher_id = voucher_id
    order.discount = quote.discount
    order.total = quote.total
    await BillOrder.filter(id=order.id).update(
        voucher_id=voucher_id, discount=quote.discount, total=quote.total
    )


async def usable_vouchers(member_id: int, amount: int) -> list[BillVoucherOut]:
    """The member's vouchers usable on a bill of `amount` fen, best discount first."""
    offers = await loyalty_vouchers.bill_payment_vouchers(member_id, amount)
    return [
        BillVoucherOut(
            voucher_id=o.voucher_id,
            benefit_id=o.benefit_id,
            name=o.name,
            discount=min(o.discount_fen, amount),
            amount_after=amount - min(o.discount_fen, amount),
            valid_until=o.valid_until,
        )
        for o in offers
    ]


async def start_payment(order: BillOrder) -> None:
    """Note that a payment started, so a settle job resolves it even if this process dies mid-payment."""
    delay = get_settings().billpay_payment_check_delay
    now = utcnow()
    async with transaction():
        started = await BillOrder.filter(
            id=order.id, state=OrderState.CREATED, payment_started_at__isnull=True
        ).update(payment_started_at=now, due_at=now + timedelta(seconds=delay), updated_at=now)
        if started:
            await enqueue(state_machine.settle_payment, order.id, defer_seconds=delay)


async def complete_payment(order: BillOrder) -> None:
    """Debit the member's bank account (once per order) and mark the order paid."""
    try:
        debit = await adapters.payment_provider().debit(order.member_id, order.ref, order.total)
    except bank_api.InsufficientFunds:
        raise InsufficientFunds("the bank account cannot cover this payment") from None
    except bank_api.PaymentReversed:
        raise OrderNotPayable("this order was cancelled") from None
    except bank_api.BankUnavailable:
        raise BankUnavailable("the bank did not answer; the payment will be settled automatically") from None
    await state_machine.mark_paid(order.id, debit)


async def pay_order(member_id: int, order_id: int) -> BillOrder:
    """Pay an order from the member's bank account; paying an order already paid returns it as it is."""
    order = await repository.member_order(member_id, order_id)
    if order.state is OrderState.CANCELLED:
        raise OrderNotPayable("this order was cancelled")
    if order.state is not OrderState.CREATED:
        return order
    if order.expires_at <= utcnow():
        await _cancel(order, note="expired")
        raise OrderExpired("this order expired; create a new one")
    await start_payment(order)
    await complete_payment(order)
    paid = await repository.member_order(member_id, order_id)
    if paid.state is OrderState.CANCELLED:  # it expired while the debit was under way: that is returned
        raise OrderNotPayable("this order expired during the payment; any amount taken is returned")
    return paid


async def _cancel(order: BillOrder, note: str) -> bool:
    return await state_machine.transition(
        order.id,
        OrderState.CREATED,
        OrderState.CANCELLED,
        note=note,
        where={"payment_started_at__isnull": True},
        cancelled_at=utcnow(),
    )


async def cancel_order(member_id: int, order_id: int) -> BillOrder:
    """Cancel an order whose payment has not started."""
    order = await repository.member_order(member_id, order_id)
    if order.state is not OrderState.CANCELLED and not await _cancel(order, note="cancelled_by_member"):
        raise OrderNotCancellable("payment of this order has started")
    return await repository.member_order(member_id, order_id)


async def reverse_order(operator: Principal, order_id: int, reason: str) -> BillOrder:
    """Reverse a succeeded order the biller does not have: refund the member, take the points back, give
    the voucher back (ops, e.g. after reconciliation flagged it `missing_at_biller`)."""
    order = await repository.any_order(order_id)
    if order.state is not OrderState.SUCCEEDED:
        raise OrderNotReversible(f"only a succeeded order can be reversed; this one is {order.state.value}")
    try:
        known = await adapters.within_deadline(adapters.biller_adapter(order.biller).query(order.ref))
    except biller_api.BillerUnavailable:
        raise BillerUnavailable("the biller did not answer; try again shortly") from None
    if known.status is PaymentStatus.SUCCEEDED:
        raise PaidAtBiller("the biller has this payment; it cannot be refunded here")
    async with transaction():
        if not await state_machine.reverse_success(order, "reversed", reason):
            raise OrderNotReversible("the order changed meanwhile")
        await audit.record(
            operator,
            "billpay.order_reverse",
            "bill_order",
            order.id,
            before={"state": "succeeded", "points": order.points},
            after={"state": "failed", "reason": reason},
        )
    return await repository.any_order(order_id)


async def payment_account(member_id: int) -> PaymentAccountOut:
    """The member's bank account and balance."""
    view = await adapters.payment_provider().account(member_id)
    return PaymentAccountOut(account_mask=view.account_mask, balance=view.balance)


def _order_fields(order: BillOrder, history: list[BillOrderTransition]) -> dict[str, object]:
    return {
        "id": order.id,
        "ref": order.ref,
        "biller": biller_brief(order.biller),
        "household_account_id": order.household_account_id,
        "account_mask": order.account_mask,
        "period": order.period,
        "amount": order.amount,
        "fee": order.fee,
        "discount": order.discount,
        "total": order.total,
        "voucher_id": order.voucher_id,
        "points": order.points,
        "points_reversed": order.points_reversed_at is not None,
        "state": order.state,
        "expires_at": order.expires_at,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "succeeded_at": order.succeeded_at,
        "failed_at": order.failed_at,
        "refunded_at": order.refunded_at,
        "cancelled_at": order.cancelled_at,
        "receipt": ReceiptOut(receipt_no=order.receipt_no, biller_day=order.biller_day)
        if order.state is OrderState.SUCCEEDED
        else None,
        "failure": FailureOut(code=order.failure_code, reason=order.failure_reason)
        if order.failure_code
        else None,
        "transitions": [TransitionOut.model_validate(t) for t in history],
    }


async def order_views(orders: list[BillOrder]) -> list[OrderOut]:
    """Orders with their histories, as their member sees them."""
    history = await repository.transitions([o.id for o in orders])
    return [OrderOut.model_validate(_order_fields(o, history.get(o.id, []))) for o in orders]


async def order_view(order: BillOrder) -> OrderOut:
    """One order with its history."""
    return (await order_views([order]))[0]


async def ops_order_views(orders: list[BillOrder]) -> list[OpsOrderOut]:
    """Orders with their histories and processing details, for ops."""
    history = await repository.transitions([o.id for o in orders])
    return [
        OpsOrderOut.model_validate(
            _order_fields(o, history.get(o.id, []))
            | {
                "member_id": o.member_id,
                "attempt": o.attempt,
                "due_at": o.due_at,
                "last_error": o.last_error,
                "bank_txn": o.bank_txn,
                "refund_txn": o.refund_txn,
            }
        )
        for o in orders
    ]
