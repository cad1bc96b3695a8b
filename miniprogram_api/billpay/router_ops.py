"""Bill payment for ops (`/ops/v1/billpay`): billers, orders, reconciliation and its mismatches."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status

from app.core.auth.deps import OperatorRole, current_operator, roles
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent_across_commits
from app.core.inputs import Day, Id
from app.core.pagination import Page, PageParams, page_params, paginate
from miniprogram_api.billpay import billers, reconciliation, repository, service, tasks
from miniprogram_api.billpay.models import OrderState
from miniprogram_api.billpay.schemas import (
    BillerIn,
    BillerOpsOut,
    BillerPatch,
    MismatchOut,
    OpsOrderOut,
    ReconcileIn,
    ReconcileQueuedOut,
    ReconciliationOut,
    ResolveIn,
    ReverseIn,
)

router = APIRouter(prefix="/billpay", tags=["Ops: bill payment"])

_BILLER_404 = (404, "bill.biller_not_found", "no such biller")
_ADAPTER_422 = (422, "validation_error", "unknown adapter or invalid adapter_config (the field is named)")


@router.get("/billers", response_model=list[BillerOpsOut], summary="List billers")
@roles(OperatorRole.AUDITOR)
async def list_billers() -> list[BillerOpsOut]:
    """Every biller, active or not, with its adapter configuration."""
    return [billers.biller_ops_out(b) for b in await repository.all_billers()]


@router.post(
    "/billers",
    response_model=BillerOpsOut,
    status_code=status.HTTP_201_CREATED,
    summary="Configure a biller",
    responses=problem_responses(
        (409, "bill.biller_code_taken", "another biller has this code"), _ADAPTER_422
    ),
)
@roles(OperatorRole.ADMIN)
async def create_biller(body: BillerIn, operator: Principal = Depends(current_operator)) -> BillerOpsOut:
    """Add a biller: type, name, region, adapter and its settings, fee rule."""
    return billers.biller_ops_out(await billers.create_biller(operator, body))


@router.get(
    "/billers/{biller_id}",
    response_model=BillerOpsOut,
    summary="One biller",
    responses=problem_responses(_BILLER_404),
)
@roles(OperatorRole.AUDITOR)
async def get_biller(biller_id: Id) -> BillerOpsOut:
    """A biller with its adapter configuration."""
    return billers.biller_ops_out(await repository.any_biller(biller_id))


@router.patch(
    "/billers/{biller_id}",
    response_model=BillerOpsOut,
    summary="Change a biller",
    responses=problem_responses(_BILLER_404, _ADAPTER_422),
)
@roles(OperatorRole.ADMIN)
async def update_biller(
    biller_id: Id, body: BillerPatch, operator: Principal = Depends(current_operator)
) -> BillerOpsOut:
    """Change name, region, adapter settings, fee rule, or take the biller off (`is_active: false`);
    orders already paid are still confirmed."""
    return billers.biller_ops_out(await billers.update_biller(operator, biller_id, body))


@router.get("/orders", response_model=Page[OpsOrderOut], summary="Bill orders")
@roles(OperatorRole.AUDITOR)
async def list_orders(
    state: OrderState | None = None,
    biller_id: Id | None = None,
    member_id: Id | None = None,
    ref: str | None = Query(None, max_length=32),
    page: PageParams = Depends(page_params),
) -> Page[OpsOrderOut]:
    """Orders newest first, filtered by state, biller, member or reference."""
    rows, cursor = await repository.orders(
        page, state=state, biller_id=biller_id, member_id=member_id, ref=ref
    )
    return Page(items=await service.ops_order_views(rows), next_cursor=cursor)


@router.get(
    "/orders/{order_id}",
    response_model=OpsOrderOut,
    summary="One bill order",
    responses=problem_responses((404, "bill.order_not_found", "no such bill order")),
)
@roles(OperatorRole.AUDITOR)
async def get_order(order_id: Id) -> OpsOrderOut:
    """An order with its history and processing details (attempts, last error, bank references)."""
    return (await service.ops_order_views([await repository.any_order(order_id)]))[0]


@router.post(
    "/orders/{order_id}/reverse",
    response_model=OpsOrderOut,
    summary="Reverse a succeeded bill order the biller does not have",
    responses=problem_responses(
        (404, "bill.order_not_found", "no such bill order"),
        (409, "bill.order_not_reversible", "the order is not succeeded"),
        (409, "bill.paid_at_biller", "the biller has the payment: settle it with the biller instead"),
        (409, "idempotency.conflict", "the Idempotency-Key was used for a different request"),
        (503, "bill.biller_unavailable", "the biller did not answer; try again shortly"),
    ),
)
@roles(OperatorRole.ADMIN)
@idempotent_across_commits
async def reverse_order(
    order_id: Id, body: ReverseIn, operator: Principal = Depends(current_operator)
) -> OpsOrderOut:
    """Refund a succeeded order after the biller confirmed it has no such payment (reconciliation flags
    it `missing_at_biller`): the order fails, its points are taken back, its voucher restored, and the
    refund is queued; audited."""
    order = await service.reverse_order(operator, order_id, body.reason)
    return (await service.ops_order_views([order]))[0]


@router.post(
    "/reconciliations",
    response_model=ReconcileQueuedOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Reconcile a business day",
    responses=problem_responses(_BILLER_404),
)
@roles(OperatorRole.ADMIN)
async def run_reconciliation(body: ReconcileIn) -> ReconcileQueuedOut:
    """Queue the comparison of a day's orders with the statement of one biller or every biller
    (it also runs by itself every night for the previous day)."""
    if body.biller_id is not None:
        biller_ids = [(await repository.any_biller(body.biller_id)).id]
    else:
        biller_ids = [b.id for b in await repository.all_billers()]
    await tasks.queue_reconciliations(body.day, biller_ids)
    return ReconcileQueuedOut(day=body.day, biller_ids=biller_ids)


@router.get("/reconciliations", response_model=Page[ReconciliationOut], summary="Reconciliation runs")
@roles(OperatorRole.AUDITOR)
async def list_reconciliations(
    biller_id: Id | None = None, day: Day | None = None, page: PageParams = Depends(page_params)
) -> Page[ReconciliationOut]:
    """Runs newest first, with matched and mismatched counts and both totals."""
    rows, cursor = await paginate(repository.reconciliation_runs(biller_id=biller_id, day=day), page)
    return Page(items=[ReconciliationOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/mismatches", response_model=Page[MismatchOut], summary="Reconciliation mismatches")
@roles(OperatorRole.AUDITOR)
async def list_mismatches(
    resolved: bool = Query(False, description="false: open ones (default), true: resolved ones"),
    run_id: Id | None = None,
    page: PageParams = Depends(page_params),
) -> Page[MismatchOut]:
    """Disagreements between our orders and billers' statements, newest first."""
    rows, cursor = await paginate(repository.mismatches(resolved=resolved, run_id=run_id), page)
    return Page(items=[MismatchOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/mismatches/{mismatch_id}/resolve",
    response_model=MismatchOut,
    summary="Resolve a reconciliation mismatch",
    responses=problem_responses(
        (404, "bill.reconciliation_not_found", "no such mismatch"),
        (409, "bill.mismatch_resolved", "it was already resolved"),
    ),
)
@roles(OperatorRole.ADMIN)
async def resolve_mismatch(
    mismatch_id: Id, body: ResolveIn, operator: Principal = Depends(current_operator)
) -> MismatchOut:
    """Record how a mismatch was settled (audited)."""
    return MismatchOut.model_validate(await reconciliation.resolve(operator, mismatch_id, body.note))
