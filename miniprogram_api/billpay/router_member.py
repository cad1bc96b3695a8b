"""Bill payment for members (`/mp/v1/bills`): billers, bill lookup, saved accounts, reminders, orders.

Paying a bill: look it up (`POST /bills/lookup`), create an order for the amount due (`POST /bills/orders`),
pay it (`POST /bills/orders/{id}/pay`). The order is then confirmed with the biller in the background;
poll `GET /bills/orders/{id}` until it is `succeeded` (with a receipt) or `refunded` (with the reason).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response, status

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent_across_commits
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params
from app.core.ratelimit import limit_per_principal
from miniprogram_api.billpay import accounts, billers, bills, repository, service
from miniprogram_api.billpay.models import BillerType, OrderState
from miniprogram_api.billpay.schemas import (
    MAX_AMOUNT,
    BillerOut,
    BillOut,
    BillVoucherOut,
    HouseholdAccountIn,
    HouseholdAccountOut,
    HouseholdAccountPatch,
    LookupIn,
    OrderIn,
    OrderOut,
    PaymentAccountOut,
    ReminderIn,
    ReminderOut,
)

router = APIRouter(prefix="/bills", tags=["Mini-program: bill payment"])

# Lookups reach the biller: a member gets a generous but bounded number per minute.
lookup_member = limit_per_principal("bill-lookup", current_member, limit=60, period=60)

_BILLER_404 = (404, "bill.biller_not_found", "no such biller, or it is not offered")
_ACCOUNT_404 = (404, "bill.account_not_found", "the biller has no account with this number")
_SAVED_404 = (404, "bill.household_account_not_found", "no such saved account")
_ORDER_404 = (404, "bill.order_not_found", "no such bill order")
_BILLER_503 = (503, "bill.biller_unavailable", "the biller is not answering; retry shortly")
_PHONE_422 = (422, "validation_error", "a field is invalid, e.g. phone top-up needs a mobile number")
_RATE_429 = (429, "rate_limited", "too many lookups; retry after the given seconds")
_AUTH_401 = (
    (401, "auth.missing_token", "no bearer access token"),
    (401, "auth.token_expired", "the access token expired: refresh it"),
    (401, "auth.token_invalid", "the access token is not valid"),
    (401, "auth.token_revoked", "the session was logged out"),
)


def _errors(*codes: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    """The route's problem codes, with the authentication failures every member route can answer."""
    return problem_responses(*_AUTH_401, *codes)


_VOUCHER_ERRORS = (
    (404, "voucher.not_found", "no such voucher of mine"),
    (409, "voucher.used", "the voucher was already used"),
    (409, "voucher.revoked", "the voucher was taken back (its purchase was refunded)"),
    (409, "voucher.not_yet_valid", "the voucher's validity has not started"),
    (410, "voucher.expired", "the voucher expired"),
    (403, "voucher.not_valid_here", "the voucher is not a bill-payment voucher"),
    (422, "voucher.min_spend_not_met", "the bill amount is below the voucher's minimum spend"),
)


@router.get(
    "/billers",
    response_model=list[BillerOut],
    summary="Billers a member can pay",
    responses=_errors((422, "validation_error", "unknown type, or region too long")),
)
async def list_billers(
    biller_type: BillerType | None = Query(None, alias="type", description="only billers of this type"),
    region: str | None = Query(None, max_length=64, description="only billers of this region"),
    member: Principal = Depends(current_member),
) -> list[BillerOut]:
    """Active billers with their fee rules and, for phone top-up, the amounts to choose from."""
    return [billers.biller_out(b) for b in await repository.active_billers(biller_type, region)]


@router.post(
    "/lookup",
    response_model=BillOut,
    summary="Look up the amount due on an account",
    responses=_errors(_BILLER_404, _ACCOUNT_404, _PHONE_422, _RATE_429, _BILLER_503),
)
async def lookup(body: LookupIn, member: Principal = Depends(lookup_member)) -> BillOut:
    """Ask the biller what is due on an account number (sent in the body, never in a URL)."""
    return await bills.lookup_bill(body.biller_id, body.account_no)


@router.get(
    "/payment-account",
    response_model=PaymentAccountOut,
    summary="My bank account used for bill payment",
    responses=_errors(),
)
async def payment_account(member: Principal = Depends(current_member)) -> PaymentAccountOut:
    """The member's bank account (masked) and its balance in fen."""
    return await service.payment_account(member.id)


@router.get(
    "/vouchers",
    response_model=list[BillVoucherOut],
    summary="My vouchers usable on a bill",
    responses=_errors((422, "validation_error", "amount missing or not a positive number of fen")),
)
async def usable_vouchers(
    amount: int = Query(
        gt=0, le=MAX_AMOUNT, description="fen: the bill amount (amount due or top-up amount)"
    ),
    member: Principal = Depends(current_member),
) -> list[BillVoucherOut]:
    """Bill-payment vouchers I can use on a bill of this amount, best discount first."""
    return await service.usable_vouchers(member.id, amount)


@router.get(
    "/accounts",
    response_model=list[HouseholdAccountOut],
    summary="My saved household accounts",
    responses=_errors(),
)
async def list_accounts(member: Principal = Depends(current_member)) -> list[HouseholdAccountOut]:
    """Saved accounts, newest first, numbers masked, with their reminder days."""
    return await accounts.list_accounts(member.id)


@router.post(
    "/accounts",
    response_model=HouseholdAccountOut,
    status_code=status.HTTP_201_CREATED,
    summary="Save a household account",
    responses=_errors(
        _BILLER_404,
        _ACCOUNT_404,
        (409, "bill.account_exists", "this account is already saved"),
        (409, "bill.too_many_accounts", "at most 20 saved accounts"),
        _PHONE_422,
        _RATE_429,
        _BILLER_503,
    ),
)
async def save_account(
    body: HouseholdAccountIn, member: Principal = Depends(lookup_member)
) -> HouseholdAccountOut:
    """Save an account the biller knows, with a nickname, to pay it and get reminders."""
    return await accounts.save_account(member.id, body)


@router.patch(
    "/accounts/{account_id}",
    response_model=HouseholdAccountOut,
    summary="Rename a saved account",
    responses=_errors(_SAVED_404),
)
async def rename_account(
    account_id: Id, body: HouseholdAccountPatch, member: Principal = Depends(current_member)
) -> HouseholdAccountOut:
    """Change the nickname of a saved account."""
    return await accounts.rename_account(member.id, account_id, body.nickname)


@router.delete(
    "/accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Forget a saved account",
    responses=_errors(_SAVED_404),
)
async def delete_account(account_id: Id, member: Principal = Depends(current_member)) -> Response:
    """Delete a saved account and its reminder; its past orders stay in the history."""
    await accounts.delete_account(member.id, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/accounts/{account_id}/bill",
    response_model=BillOut,
    summary="Amount due on a saved account",
    responses=_errors(_SAVED_404, _BILLER_404, _ACCOUNT_404, _RATE_429, _BILLER_503),
)
async def saved_account_bill(account_id: Id, member: Principal = Depends(lookup_member)) -> BillOut:
    """Ask the biller what is due on a saved account."""
    return await accounts.saved_account_bill(member.id, account_id)


@router.put(
    "/accounts/{account_id}/reminder",
    response_model=ReminderOut,
    summary="Get a monthly reminder for a saved account",
    responses=_errors(_SAVED_404),
)
async def set_reminder(
    account_id: Id, body: ReminderIn, member: Principal = Depends(current_member)
) -> ReminderOut:
    """Remind me every month on this day (from 09:00) when something is due; repeating moves the day."""
    reminder = await accounts.set_reminder(member.id, account_id, body.day_of_month)
    return ReminderOut(
        household_account_id=reminder.household_account_id,
        day_of_month=reminder.day_of_month,
        created_at=reminder.created_at,
    )


@router.delete(
    "/accounts/{account_id}/reminder",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop the reminder of a saved account",
    responses=_errors(_SAVED_404, (404, "bill.reminder_not_found", "the account has no reminder")),
)
async def delete_reminder(account_id: Id, member: Principal = Depends(current_member)) -> Response:
    """Unsubscribe from the monthly reminder."""
    await accounts.delete_reminder(member.id, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a bill order",
    responses=_errors(
        _BILLER_404,
        _ACCOUNT_404,
        _SAVED_404,
        (409, "bill.amount_mismatch", "the amount differs from the amount due (see `amount_due`)"),
        (409, "bill.nothing_due", "the bill is already paid"),
        (409, "bill.payment_in_progress", "a payment of this bill is being confirmed"),
        (409, "idempotency.conflict", "the Idempotency-Key was used for a different request"),
        (422, "bill.topup_amount_invalid", "phone top-up amount not in the biller's topup_amounts"),
        *_VOUCHER_ERRORS,
        _PHONE_422,
        _RATE_429,
        _BILLER_503,
    ),
)
@idempotent_across_commits
async def create_order(body: OrderIn, member: Principal = Depends(lookup_member)) -> OrderOut:
    """Check the amount with the biller and open an order to pay (state `created`, payable until
    `expires_at`), optionally using a bill-payment voucher that reduces the total. Send an
    Idempotency-Key: a retry returns the same order (and uses the voucher once)."""
    return await service.order_view(await service.create_order(member.id, body))


@router.get(
    "/orders",
    response_model=Page[OrderOut],
    summary="My bill orders",
    responses=_errors((422, "validation_error", "unknown state, malformed cursor or limit out of range")),
)
async def list_orders(
    state: OrderState | None = Query(None, description="only orders in this state"),
    page: PageParams = Depends(page_params),
    member: Principal = Depends(current_member),
) -> Page[OrderOut]:
    """Order history, newest first, each with its state transitions."""
    rows, cursor = await repository.member_orders(member.id, state, page)
    return Page(items=await service.order_views(rows), next_cursor=cursor)


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    summary="One bill order",
    responses=_errors(_ORDER_404),
)
async def get_order(order_id: Id, member: Principal = Depends(current_member)) -> OrderOut:
    """An order with its history, receipt (succeeded) or failure reason (failed, refunded)."""
    return await service.order_view(await repository.member_order(member.id, order_id))


@router.post(
    "/orders/{order_id}/pay",
    response_model=OrderOut,
    summary="Pay a bill order from my bank account",
    responses=_errors(
        _ORDER_404,
        (402, "bill.insufficient_funds", "the bank account cannot cover the total"),
        (409, "bill.order_expired", "the unpaid order expired; create a new one"),
        (409, "bill.order_not_payable", "the order was cancelled"),
        (409, "idempotency.conflict", "the Idempotency-Key was used for a different request"),
        (503, "bill.bank_unavailable", "the bank did not answer; the payment settles by itself"),
    ),
)
@idempotent_across_commits
async def pay_order(order_id: Id, member: Principal = Depends(current_member)) -> OrderOut:
    """Debit the total from the member's bank account once; the order becomes `paid` and is confirmed
    with the biller in the background. Paying a paid order again returns it unchanged."""
    return await service.order_view(await service.pay_order(member.id, order_id))


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    summary="Cancel an unpaid bill order",
    responses=_errors(_ORDER_404, (409, "bill.order_not_cancellable", "payment of this order has started")),
)
async def cancel_order(order_id: Id, member: Principal = Depends(current_member)) -> OrderOut:
    """Cancel an order whose payment has not started (cancelling twice is harmless)."""
    return await service.order_view(await service.cancel_order(member.id, order_id))
