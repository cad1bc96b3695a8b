"""Branches and their community grids: assignment of stores to grids, grid managers, the dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.functions import Count

from app.core import audit
from app.core.auth.deps import OperatorRole
from app.core.auth.tokens import Principal
from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.models import Operator
from app.core.timeutil import utcnow
from merchants.errors import BranchNotFound
from merchants.models import Branch, GridManager, Merchant, MerchantStatus, Store
from merchants.repository import OpsScope, merchant_for_ops, ops_scope
from merchants.validation import haversine_m

# Other domains add dashboard figures (members joined, sales, points, vouchers) by registering a
# provider: given merchant ids, it returns {merchant_id: {metric: value}}. A grid's figure is the sum
# over its merchants, except for instants (names ending in `_ts`, Unix seconds): the latest one.
MetricProvider = Callable[[list[int]], Awaitable[dict[int, dict[str, int]]]]
_metric_providers: list[MetricProvider] = []


def register_metric_provider(provider: MetricProvider) -> None:
    """Let another domain contribute per-merchant figures to the grid dashboard."""
    if provider not in _metric_providers:
        _metric_providers.append(provider)


async def merchant_metrics(merchant_ids: list[int]) -> dict[int, dict[str, int]]:
    """Every registered domain's figures for these merchants."""
    out: dict[int, dict[str, int]] = {m: {} for m in merchant_ids}
    for provider in _metric_providers:
        for merchant_id, figures in (await provider(merchant_ids)).items():
            out.setdefault(merchant_id, {}).update(figures)
    return out


def _branch_snapshot(branch: Branch) -> dict[str, Any]:
    return {
        "name": branch.name,
        "address": branch.address,
        "lat": branch.lat,
        "lng": branch.lng,
        "radius_m": branch.radius_m,
    }


async def covering_grid(lat: float | None, lng: float | None) -> int | None:
    """The nearest branch whose radius covers the point, or None outside every grid."""
    if lat is None or lng is None:
        return None
    best: tuple[float, int] | None = None
    for branch_id, b_lat, b_lng, radius in await Branch.all().values_list("id", "lat", "lng", "radius_m"):
        distance = haversine_m(lat, lng, b_lat, b_lng)
        if distance <= radius and (best is None or (distance, branch_id) < best):
            best = (distance, int(branch_id))
    return best[1] if best else None


async def get_branch(branch_id: int) -> Branch:
    """A branch by id."""
    branch = await Branch.get_or_none(id=branch_id)
    if branch is None:
        raise BranchNotFound("grid not found")
    return branch


async def check_merchant_in_scope(operator: Principal, merchant_id: int) -> None:
    """404 `merchant.not_found` unless the merchant is in the operator's grids (admins: any merchant)."""
    await merchant_for_ops(await ops_scope(operator), merchant_id)


async def _adopt_unassigned() -> None:
    """Give merchants outside every grid the grid that now covers them (a new or grown branch)."""
    rows = await Store.filter(merchant__grid_id__isnull=True, merchant__grid_locked=False, lat__isnull=False)
    for store in rows:
        grid_id = await covering_grid(store.lat, store.lng)
        if grid_id is not None:
            await Merchant.filter(id=store.merchant_id, grid_id__isnull=True, grid_locked=False).update(
                grid_id=grid_id, updated_at=utcnow()
            )


async def create_branch(actor: Principal, fields: dict[str, Any]) -> Branch:
    """Register a branch and its grid; a grid manager who registers it manages it."""
    async with transaction():
        branch = await Branch.create(**fields)
        if OperatorRole.GRID_MANAGER.value in actor.roles and OperatorRole.ADMIN.value not in actor.roles:
            await GridManager.create(operator_id=actor.id, branch=branch)
        await _adopt_unassigned()
        await audit.record(actor, "branch.create", "branch", branch.id, after=_branch_snapshot(branch))
    return branch


async def update_branch(actor: Principal, scope: OpsScope, branch_id: int, fields: dict[str, Any]) -> Branch:
    """Change a branch; merchants already in the grid stay there (ops can move them)."""
    async with transaction():
        if not scope.covers_grid(branch_id):
            raise BranchNotFound("grid not found")
        branch = await Branch.select_for_update().get_or_none(id=branch_id)
        if branch is None:
            raise BranchNotFound("grid not found")
        before = _branch_snapshot(branch)
        branch.update_from_dict(fields)
        await branch.save()
        await _adopt_unassigned()
        await audit.record(
            actor, "branch.update", "branch", branch.id, before=before, after=_branch_snapshot(branch)
        )
    return branch


async def assign_manager(actor: Principal, branch_id: int, operator_id: int) -> Operator:
    """Make an operator with the grid_manager role responsible for a grid."""
    async with transaction():
        await get_branch(branch_id)
        operator = await Operator.get_or_none(id=operator_id, is_active=True)
        if operator is None or OperatorRole.GRID_MANAGER.value not in operator.roles:
            raise InvalidField("operator_id", "not an active operator with the grid_manager role")
        _, created = await GridManager.get_or_create(operator_id=operator_id, branch_id=branch_id)
        if created:
            await audit.record(
                actor, "grid.assign_manager", "branch", branch_id, after={"operator_id": operator_id}
            )
    return operator


async def unassign_manager(actor: Principal, branch_id: int, operator_id: int) -> None:
    """Take a grid away from a grid manager."""
    async with transaction():
        await get_branch(branch_id)
        removed = await GridManager.filter(operator_id=operator_id, branch_id=branch_id).delete()
        if not removed:
            raise BranchNotFound("this operator does not manage this grid")
        await audit.record(
            actor, "grid.unassign_manager", "branch", branch_id, before={"operator_id": operator_id}
        )


async def managers_of(branch_id: int) -> list[tuple[int, str]]:
    """(operator id, username) of a grid's managers."""
    ids = await GridManager.filter(branch_id=branch_id).values_list("operator_id", flat=True)
    rows = await Operator.filter(id__in=list(ids)).order_by("id").values_list("id", "username")
    return [(int(i), str(u)) for i, u in rows]


@dataclass(frozen=True)
class GridSummary:
    """A grid's figures."""

    branch: Branch
    by_status: dict[str, int]
    stores: int
    inactive: int
    last_activity_at: datetime | None
    metrics: dict[str, int]


def inactive_before(days: int) -> datetime:
    """The instant before which a merchant's last activity makes it inactive."""
    return utcnow() - timedelta(days=days)


async def grid_summary(branch: Branch, inactive_days: int) -> GridSummary:
    """Merchants by status, stores, inactive merchants, last activity and other domains' totals."""
    merchants = Merchant.filter(grid_id=branch.id)
    counts = await merchants.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    by_status = {s.value: 0 for s in MerchantStatus}
    for status, n in counts:
        by_status[str(getattr(status, "value", status))] = int(n)
    threshold = inactive_before(inactive_days)
    active = Merchant.filter(grid_id=branch.id, status=MerchantStatus.ACTIVE)
    inactive = await active.filter(last_activity_at__lt=threshold).count()
    inactive += await active.filter(last_activity_at__isnull=True).count()
    latest = (
        await Merchant.filter(grid_id=branch.id, last_activity_at__isnull=False)
        .order_by("-last_activity_at")
        .first()
        .values_list("last_activity_at", flat=True)
    )
    ids = [int(r["id"]) for r in await merchants.values("id")]
    totals: dict[str, int] = {}
    for figures in (await merchant_metrics(ids)).values():
        for name, value in figures.items():
            if name.endswith("_ts"):
                totals[name] = max(totals.get(name, 0), value)
            else:
                totals[name] = totals.get(name, 0) + value
    return GridSummary(
        branch=branch,
        by_status=by_status,
        stores=await Store.filter(merchant__grid_id=branch.id).count(),
        inactive=inactive,
        last_activity_at=latest if isinstance(latest, datetime) else None,
        metrics=totals,
    )
