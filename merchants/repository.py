"""Merchant queries, always scoped to the caller: a merchant's own staff, or an operator's grids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from app.core.auth.deps import OperatorRole, StaffRole
from app.core.auth.tokens import Principal
from app.core.crypto import encrypt, lookup_hash
from merchants.errors import (
    BranchNotFound,
    ChangeNotFound,
    MerchantNotFound,
    StaffNotFound,
    StaffPhoneTaken,
    StoreNotFound,
)
from merchants.models import (
    Branch,
    ChangeStatus,
    GridManager,
    Merchant,
    MerchantChange,
    MerchantStatus,
    Staff,
    Store,
)


@dataclass(frozen=True)
class OpsScope:
    """What an operator may see: every merchant (admin) or the merchants of their grids."""

    operator_id: int
    everything: bool
    grid_ids: frozenset[int]

    def covers_grid(self, grid_id: int | None) -> bool:
        """Whether a grid (None: unassigned) is inside this scope."""
        return self.everything or (grid_id is not None and grid_id in self.grid_ids)


async def ops_scope(operator: Principal) -> OpsScope:
    """The scope of an operator: admins see all, grid managers their assigned grids."""
    if OperatorRole.ADMIN.value in operator.roles:
        return OpsScope(operator.id, True, frozenset())
    rows = await GridManager.filter(operator_id=operator.id).values("branch_id")
    return OpsScope(operator.id, False, frozenset(int(r["branch_id"]) for r in rows))


def merchants_in(scope: OpsScope) -> QuerySet[Merchant]:
    """Every merchant the operator may see."""
    if scope.everything:
        return Merchant.all()
    return Merchant.filter(grid_id__in=list(scope.grid_ids))


async def status_counts(scope: OpsScope) -> dict[str, int]:
    """How many merchants the operator may see are in each status."""
    rows = await merchants_in(scope).annotate(n=Count("id")).group_by("status").values("status", "n")
    return {str(getattr(r["status"], "value", r["status"])): int(r["n"]) for r in rows}


async def merchant_for_ops(scope: OpsScope, merchant_id: int) -> Merchant:
    """A merchant inside the operator's scope (404 otherwise, so ids do not leak)."""
    merchant = await merchants_in(scope).get_or_none(id=merchant_id)
    if merchant is None:
        raise MerchantNotFound("merchant not found")
    return merchant


async def branch_for_ops(scope: OpsScope, branch_id: int) -> Branch:
    """A branch the operator manages (every branch for admins)."""
    if not scope.covers_grid(branch_id):
        raise BranchNotFound("grid not found")
    branch = await Branch.get_or_none(id=branch_id)
    if branch is None:
        raise BranchNotFound("grid not found")
    return branch


async def get_merchant(merchant_id: int) -> Merchant:
    """The caller's own merchant."""
    merchant = await Merchant.get_or_none(id=merchant_id)
    if merchant is None:
        raise MerchantNotFound("merchant not found")
    return merchant


async def stores_of(merchant_id: int) -> list[Store]:
    """A merchant's stores, oldest first."""
    return await Store.filter(merchant_id=merchant_id).order_by("id")


async def get_store(merchant_id: int, store_id: int) -> Store:
    """A store of this merchant (404 for any other merchant's store)."""
    store = await Store.get_or_none(id=store_id, merchant_id=merchant_id)
    if store is None:
        raise StoreNotFound("store not found")
    return store


async def pending_change(merchant_id: int) -> MerchantChange | None:
    """The legal-field change of this merchant waiting for review."""
    return await MerchantChange.get_or_none(merchant_id=merchant_id, status=ChangeStatus.PENDING)


async def get_change(merchant_id: int, change_id: int) -> MerchantChange:
    """A change request of this merchant."""
    change = await MerchantChange.get_or_none(id=change_id, merchant_id=merchant_id)
    if change is None:
        raise ChangeNotFound("change not found")
    return change


def staff_of(merchant_id: int) -> QuerySet[Staff]:
    """All staff rows of one merchant."""
    return Staff.filter(merchant_id=merchant_id)


async def get_staff(merchant_id: int, staff_id: int) -> Staff:
    """A staff member of this merchant (404 for any other merchant's staff, so ids do not leak)."""
    staff = await Staff.get_or_none(id=staff_id, merchant_id=merchant_id)
    if staff is None:
        raise StaffNotFound("staff member not found")
    return staff


async def find_staff_by_phone(phone: str) -> Staff | None:
    """The staff account for a login phone."""
    return await Staff.get_or_none(phone_hash=lookup_hash(phone))


async def new_staff(merchant: Merchant, phone: str, name: str, role: StaffRole, password_hash: str) -> Staff:
    """A staff account at a merchant (the phone must be free)."""
    if await Staff.exists(phone_hash=lookup_hash(phone)):
        raise StaffPhoneTaken("a staff account with this phone exists")
    return await Staff.create(
        merchant=merchant,
        phone_hash=lookup_hash(phone),
        phone_enc=encrypt(phone),
        name=name,
        role=role.value,
        password_hash=password_hash,
    )


def branches(scope: OpsScope, *, mine: bool) -> QuerySet[Branch]:
    """Every branch (bank outlets are public), or only the caller's grids when `mine`."""
    query = Branch.all()
    return query.filter(id__in=list(scope.grid_ids)) if mine and not scope.everything else query


async def grid_stores(grid_id: int) -> list[dict[str, Any]]:
    """The stores of a grid's merchants with their coordinates and the merchant's status and activity."""
    return list(
        await Store.filter(merchant__grid_id=grid_id, lat__isnull=False, lng__isnull=False)
        .order_by("id")
        .values(
            "id",
            "name",
            "lat",
            "lng",
            "merchant_id",
            merchant_name="merchant__name",
            status="merchant__status",
            last_activity_at="merchant__last_activity_at",
        )
    )


def grid_merchants(grid_id: int, *, idle_before: datetime | None = None) -> QuerySet[Merchant]:
    """A grid's merchants; with `idle_before`, only active ones idle since then (or never active)."""
    query = Merchant.filter(grid_id=grid_id)
    if idle_before is not None:
        idle = Q(last_activity_at__lt=idle_before) | Q(last_activity_at__isnull=True)
        query = query.filter(idle, status=MerchantStatus.ACTIVE)
    return query


def changes_of(merchant_id: int) -> QuerySet[MerchantChange]:
    """A merchant's change requests (the caller checked its scope)."""
    return MerchantChange.filter(merchant_id=merchant_id)
