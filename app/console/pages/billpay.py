"""Bill payment: billers, orders by state, reconciliation runs and the open mismatches to resolve."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.console import forms
from app.console.deps import checked, require, roles_of, signed_in
from app.console.i18n import language_of, translator
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.errors import ProblemError
from app.core.inputs import Day, Id
from app.core.pagination import PageParams, paginate
from app.core.problem_i18n import translate
from miniprogram_api.billpay import billers, reconciliation, repository, service, tasks
from miniprogram_api.billpay import router_ops as ops
from miniprogram_api.billpay.models import BillerType, OrderState
from miniprogram_api.billpay.schemas import BillerIn, BillerPatch

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
        "can_configure": session.can(roles_of(ops.create_biller)),
        "types": list(BillerType),
        "values": {"adapter": "simulated", "earn_rate": "100"},
        "errors": {},
        "done": request.query_params.get("done"),
    }
    return render(request, "billpay.html", context, session=session)


BILLER_FIELDS = {
    "code": "code",
    "type": "type",
    "name": "name",
    "region": "region",
    "adapter": "adapter",
    "fee_fixed": "fee_fixed",
    "fee_rate_bp": "fee_rate_bp",
    "fee_cap": "fee_cap",
    "earn_rate": "earn_rate",
}


@router.post("/billers")
async def create_biller(request: Request, session: ConsoleSession = Depends(checked)) -> Response:
    """Configure a biller (admin); invalid fields come back inline."""
    require(session, ops.create_biller)
    _ = translator(language_of(request))
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in BILLER_FIELDS}
    errors = forms.FieldErrors()
    body: dict[str, Any] = {k: values[k] for k in ("code", "type", "name", "region", "adapter")}
    for key in ("fee_fixed", "fee_cap"):
        amount = forms.fen(values[key], key, errors, _)
        if amount is not None:
            body[key] = amount
    for key in ("fee_rate_bp", "earn_rate"):
        number = forms.integer(values[key], key, errors, _)
        if number is not None:
            body[key] = number
    if not errors:
        try:
            await billers.create_biller(session.principal, BillerIn.model_validate(body))
        except ValidationError as exc:
            forms.from_validation(exc, BILLER_FIELDS, errors, _)
        except ProblemError as exc:
            title, detail = translate(language_of(request), exc.status, exc.code, exc.title, exc.detail)
            errors["_form"] = f"{title}: {detail}"
        else:
            return RedirectResponse("/console/billpay?done=biller_created", status_code=303)
    runs, _next = await paginate(
        repository.reconciliation_runs(biller_id=None, day=None), PageParams(None, 20)
    )
    mismatches, _next = await paginate(repository.mismatches(resolved=False), PageParams(None, 100))
    context = {
        "billers": [billers.biller_ops_out(b) for b in await repository.all_billers()],
        "runs": runs,
        "mismatches": mismatches,
        "resolved": False,
        "can_act": True,
        "can_configure": True,
        "types": list(BillerType),
        "values": values,
        "errors": errors,
        "done": None,
    }
    return render(request, "billpay.html", context, session=session, status_code=422)


@router.post("/billers/{biller_id}/active")
async def set_active(
    biller_id: Id, is_active: bool = Form(False), session: ConsoleSession = Depends(checked)
) -> Response:
    """Take a biller off (paid orders are still confirmed) or back on (admin)."""
    require(session, ops.update_biller)
    await billers.update_biller(session.principal, biller_id, BillerPatch(is_active=is_active))
    return RedirectResponse("/console/billpay?done=biller_updated", status_code=303)


@router.post("/orders/{order_id}/reverse")
async def reverse(
    order_id: Id,
    reason: str = Form(..., min_length=1, max_length=255),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Reverse a succeeded order the biller does not have: the member is refunded (admin; audited)."""
    require(session, ops.reverse_order)
    await service.reverse_order(session.principal, order_id, reason)
    return RedirectResponse("/console/billpay/orders?done=order_reversed", status_code=303)


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
        "can_reverse": session.can(roles_of(ops.reverse_order)),
        "done": request.query_params.get("done"),
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
