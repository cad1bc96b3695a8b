"""Bill payment: billers, orders by state, reconciliation runs and the open mismatches to resolve."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.console.deps import checked, require, roles_of, signed_in
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.inputs import Day, Id
from app.core.pagination import PageParams, paginate
from miniprogram_api.billpay import billers, reconciliation, repository, service, tasks
from miniprogram_api.billpay import router_ops as ops
from miniprogram_api.billpay.models import OrderState

router = APIRouter(prefix="/billpay")


@router.get("")
async def overview(
    request: Request,
    resolved: bool = Query(False),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Billers, the latest reconciliation runs and the mismatches (open by default)."""
    require(session, ops.list_billers)
    runs, _ = await paginate(repository.reconciliation_runs(biller_id=None, day=None), PageParams(None, 20))
    mismatches, _ = await paginate(repository.mismatches(resolved=resolved), PageParams(None, 100))
    context = {
        "billers": [billers.biller_ops_out(b) for b in await repository.all_billers()],
        "runs": runs,
        "mismatches": mismatches,
        "resolved": resolved,
        "can_act": session.can(roles_of(ops.resolve_mismatch)),
        "done": request.query_params.get("done"),
    }
    return render(request, "billpay.html", context, session=session)


@router.get("/orders")
async def orders(
    request: Request,
    state_: str = Query("", alias="state", max_length=16),
    ref: str = Query("", max_length=32),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Bill orders newest first, by state or reference."""
    require(session, ops.list_orders)
    state = OrderState(state_) if state_ in set(OrderState) else None
    rows, next_cursor = await repository.orders(PageParams(cursor, 50), state=state, ref=ref.strip() or None)
    context = {
        "orders": await service.ops_order_views(rows),
        "state": state,
        "states": list(OrderState),
        "ref": ref,
        "next": next_cursor,
    }
    return render(request, "bill_orders.html", context, session=session)


@router.post("/reconciliations")
async def reconcile(day: Day = Form(...), session: ConsoleSession = Depends(checked)) -> Response:
    """Queue the reconciliation of a business day with every biller's statement (admin)."""
    require(session, ops.run_reconciliation)
    await tasks.queue_reconciliations(day, [b.id for b in await repository.all_billers()])
    return RedirectResponse("/console/billpay?done=reconciliation_queued", status_code=303)


@router.post("/mismatches/{mismatch_id}/resolve")
async def resolve(
    mismatch_id: Id,
    note: str = Form(..., min_length=1, max_length=255),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Record how a mismatch was settled (admin; audited)."""
    require(session, ops.resolve_mismatch)
    await reconciliation.resolve(session.principal, mismatch_id, note)
    return RedirectResponse("/console/billpay?done=mismatch_resolved", status_code=303)
