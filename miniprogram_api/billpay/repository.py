"""Bill-payment queries, each scoped to the caller: another member's ids answer 404."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from tortoise.queryset import QuerySet

from app.core.pagination import PageParams, paginate
from miniprogram_api.billpay.errors import (
    BillerNotFound,
    HouseholdAccountNotFound,
    OrderNotFound,
    ReconciliationNotFound,
)
from miniprogram_api.billpay.models import (
    Biller,
    BillerType,
    BillOrder,
    BillOrderTransition,
    HouseholdAccount,
    OrderState,
    ReconciliationMismatch,
    ReconciliationRun,
    ReminderSubscription,
)


async def active_biller(biller_id: int) -> Biller:
    """A biller offered to members."""
    biller = await Biller.get_or_none(id=biller_id, is_active=True)
    if biller is None:
        raise BillerNotFound("no such biller")
    return biller


async def any_biller(biller_id: int) -> Biller:
    """A biller, active or not (ops)."""
    biller = await Biller.get_or_none(id=biller_id)
    if biller is None:
        raise BillerNotFound("no such biller")
    return biller


async def active_billers(biller_type: BillerType | None, region: str | None) -> list[Biller]:
    """Billers members can pay, by type and region."""
    qs = Biller.filter(is_active=True)
    if biller_type is not None:
        qs = qs.filter(type=biller_type)
    if region:
        qs = qs.filter(region=region)
    return await qs.order_by("type", "name", "id")


async def household_account(member_id: int, account_id: int) -> HouseholdAccount:
    """One of the member's saved accounts, with its biller."""
    account = (
        await HouseholdAccount.filter(id=account_id, member_id=member_id).prefetch_related("biller").first()
    )
    if account is None:
        raise HouseholdAccountNotFound("no such saved account")
    return account


async def household_accounts(member_id: int) -> list[HouseholdAccount]:
    """The member's saved accounts, newest first."""
    return await HouseholdAccount.filter(member_id=member_id).prefetch_related("biller").order_by("-id")


async def reminder_days(account_ids: list[int]) -> dict[int, int]:
    """Reminder day of month per saved account."""
    rows = await ReminderSubscription.filter(household_account_id__in=account_ids).values_list(
        "household_account_id", "day_of_month"
    )
    return {int(a): int(d) for a, d in rows}


async def member_order(member_id: int, order_id: int) -> BillOrder:
    """One of the member's orders."""
    order = await BillOrder.filter(id=order_id, member_id=member_id).prefetch_related("biller").first()
    if order is None:
        raise OrderNotFound("no such bill order")
    return order


async def member_orders(
    member_id: int, state: OrderState | None, page: PageParams
) -> tuple[list[BillOrder], str | None]:
    """The member's orders, newest first."""
    qs = BillOrder.filter(member_id=member_id).prefetch_related("biller")
    if state is not None:
        qs = qs.filter(state=state)
    return await paginate(qs, page)


async def any_order(order_id: int) -> BillOrder:
    """Any order (ops)."""
    order = await BillOrder.filter(id=order_id).prefetch_related("biller").first()
    if order is None:
        raise OrderNotFound("no such bill order")
    return order


async def orders(
    page: PageParams,
    *,
    state: OrderState | None = None,
    biller_id: int | None = None,
    member_id: int | None = None,
    ref: str | None = None,
) -> tuple[list[BillOrder], str | None]:
    """Orders filtered for ops, newest first."""
    filters = {"state": state, "biller_id": biller_id, "member_id": member_id, "ref": ref}
    qs = BillOrder.filter(**{k: v for k, v in filters.items() if v is not None}).prefetch_related("biller")
    return await paginate(qs, page)


async def transitions(order_ids: list[int]) -> dict[int, list[BillOrderTransition]]:
    """Each order's transitions, oldest first."""
    grouped: dict[int, list[BillOrderTransition]] = defaultdict(list)
    for row in await BillOrderTransition.filter(order_id__in=order_ids).order_by("id"):
        grouped[row.order_id].append(row)
    return grouped


async def mismatch(mismatch_id: int) -> ReconciliationMismatch:
    """One reconciliation mismatch."""
    row = await ReconciliationMismatch.get_or_none(id=mismatch_id)
    if row is None:
        raise ReconciliationNotFound("no such mismatch")
    return row


async def all_billers() -> list[Biller]:
    """Every biller, active or not, by id."""
    return await Biller.all().order_by("id")


def reconciliation_runs(
    *, biller_id: int | None = None, day: date | None = None
) -> QuerySet[ReconciliationRun]:
    """Reconciliation runs, of one biller or day when given."""
    qs = ReconciliationRun.all()
    if biller_id is not None:
        qs = qs.filter(biller_id=biller_id)
    return qs.filter(day=day) if day is not None else qs


def mismatches(*, resolved: bool, run_id: int | None = None) -> QuerySet[ReconciliationMismatch]:
    """Open (or resolved) reconciliation mismatches, of one run when given."""
    qs = ReconciliationMismatch.filter(resolved_at__isnull=not resolved)
    return qs.filter(run_id=run_id) if run_id is not None else qs
