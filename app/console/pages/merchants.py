"""Merchant review: the queue of submitted applications, one application, approve or reject it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.console.deps import checked, require, roles_of, signed_in
from app.console.rendering import render
from app.console.session import ConsoleSession
from app.core.errors import InvalidField
from app.core.inputs import Id
from app.core.pagination import PageParams, paginate
from loyalty import admin as loyalty_admin
from loyalty import router_ops as loyalty_ops
from merchants import grids, repository, views
from merchants import router_ops as ops
from merchants.models import MerchantStatus
from merchants.onboarding import (
    approve_application,
    decide_change,
    licence_response,
    reactivate_merchant,
    reject_application,
    suspend_merchant,
)

router = APIRouter(prefix="/merchants")


@router.get("")
async def merchant_list(
    request: Request,
    status: MerchantStatus | None = Query(MerchantStatus.SUBMITTED),
    grid: str = Query("", max_length=20, description="a grid id, or empty for all the operator's grids"),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Merchants of the operator's grids by status and grid; `submitted` is the review queue."""
    require(session, ops.list_merchants)
    scope = await repository.ops_scope(session.principal)
    query = repository.merchants_in(scope)
    if status is not None:
        query = query.filter(status=status)
    if grid.isdigit():
        query = query.filter(grid_id=int(grid))
    rows, next_cursor = await paginate(query, PageParams(cursor, 50))
    grids_shown = await paginate(repository.branches(scope, mine=not scope.everything), PageParams(None, 100))
    context = {
        "merchants": rows,
        "status": status,
        "statuses": list(MerchantStatus),
        "grid": grid,
        "grids": grids_shown[0],
        "next": next_cursor,
    }
    return render(request, "merchants.html", context, session=session)


@router.get("/{merchant_id}")
async def merchant_detail(
    request: Request, merchant_id: Id, session: ConsoleSession = Depends(signed_in)
) -> Response:
    """One application, masked as `/ops/v1` shows it, with the review buttons."""
    require(session, ops.get_merchant)
    await repository.merchant_for_ops(await repository.ops_scope(session.principal), merchant_id)
    merchant = await views.merchant_out(merchant_id, reveal=False)
    context = {
        "merchant": merchant,
        "done": request.query_params.get("done"),
        "terms": await loyalty_admin.terms_for_ops(session.principal, merchant_id)
        if session.can(roles_of(loyalty_ops.get_terms))
        else None,
        "can_set_terms": session.can(roles_of(loyalty_ops.set_terms)),
        "activity": (await grids.merchant_metrics([merchant_id])).get(merchant_id, {}),
    }
    return render(request, "merchant.html", context, session=session)


@router.post("/{merchant_id}/approve")
async def approve(merchant_id: Id, session: ConsoleSession = Depends(checked)) -> Response:
    """Approve a submitted application (the same service and audit as `/ops/v1`)."""
    require(session, ops.approve)
    scope = await repository.ops_scope(session.principal)
    await approve_application(session.principal, scope, merchant_id)
    return RedirectResponse(f"/console/merchants/{merchant_id}?done=approved", status_code=303)


@router.post("/{merchant_id}/reject")
async def reject(
    merchant_id: Id,
    reason: str = Form(..., min_length=1, max_length=500),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Reject a submitted application with a reason the merchant sees."""
    require(session, ops.reject)
    scope = await repository.ops_scope(session.principal)
    await reject_application(session.principal, scope, merchant_id, reason)
    return RedirectResponse(f"/console/merchants/{merchant_id}?done=rejected", status_code=303)


@router.get("/{merchant_id}/licence")
async def licence(merchant_id: Id, session: ConsoleSession = Depends(signed_in)) -> Response:
    """The business licence image, for the reviewer."""
    require(session, ops.get_licence)
    scope = await repository.ops_scope(session.principal)
    return await licence_response(await repository.merchant_for_ops(scope, merchant_id))


@router.post("/{merchant_id}/suspend")
async def suspend(
    merchant_id: Id,
    reason: str = Form(..., min_length=1, max_length=500),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Take an active merchant off the platform, with a reason."""
    require(session, ops.suspend)
    scope = await repository.ops_scope(session.principal)
    await suspend_merchant(session.principal, scope, merchant_id, reason)
    return RedirectResponse(f"/console/merchants/{merchant_id}?done=suspended", status_code=303)


@router.post("/{merchant_id}/reactivate")
async def reactivate(
    merchant_id: Id,
    reason: str = Form(..., min_length=1, max_length=500),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Bring a suspended merchant back, with a reason."""
    require(session, ops.reactivate)
    scope = await repository.ops_scope(session.principal)
    await reactivate_merchant(session.principal, scope, merchant_id, reason)
    return RedirectResponse(f"/console/merchants/{merchant_id}?done=reactivated", status_code=303)


@router.post("/{merchant_id}/changes/{change_id}/{decision}")
async def decide(
    merchant_id: Id,
    change_id: Id,
    decision: Literal["approve", "reject"],
    reason: str = Form("", max_length=500),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Approve (apply) or reject a pending legal-field change."""
    require(session, ops.approve_change if decision == "approve" else ops.reject_change)
    if decision == "reject" and not reason.strip():
        raise InvalidField("reason", "say why the change is rejected")
    scope = await repository.ops_scope(session.principal)
    await decide_change(
        session.principal, scope, merchant_id, change_id, approve=decision == "approve", reason=reason
    )
    return RedirectResponse(f"/console/merchants/{merchant_id}?done=change_{decision}d", status_code=303)


@router.post("/{merchant_id}/terms")
async def set_terms(
    merchant_id: Id,
    earn_rate: int = Form(..., ge=0, le=10_000),
    point_value_fen: int = Form(..., ge=1, le=10_000),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Set the merchant's earning rate (points per ¥100) and point value (fen); audited."""
    require(session, loyalty_ops.set_terms)
    await loyalty_admin.set_terms(session.principal, merchant_id, earn_rate, point_value_fen)
    return RedirectResponse(f"/console/merchants/{merchant_id}?done=terms_set", status_code=303)
