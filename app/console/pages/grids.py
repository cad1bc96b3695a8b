"""Branches and grids: the list, a new branch, a grid's dashboard and drawing, its edit and managers."""

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
from app.console.svg import draw
from app.core.inputs import Id
from app.core.pagination import PageParams, paginate
from merchants import grids, repository
from merchants import router_ops as ops
from merchants.schemas import BranchIn, BranchPatch

router = APIRouter(prefix="/grids")
BRANCH_FIELDS = {name: name for name in ("name", "address", "lat", "lng", "radius_m")}
INACTIVE_DAYS = 30


@router.get("")
async def grid_list(
    request: Request,
    mine: bool = Query(False),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Every branch (or only the operator's grids), with the form to register one."""
    require(session, ops.list_branches)
    scope = await repository.ops_scope(session.principal)
    rows, next_cursor = await paginate(repository.branches(scope, mine=mine), PageParams(cursor, 50))
    context = {
        "branches": rows,
        "mine": mine,
        "next": next_cursor,
        "values": {"radius_m": "3000"},
        "errors": {},
    }
    return render(request, "grids.html", context, session=session)


def _branch_body(form: Any, errors: forms.FieldErrors, _: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": str(form.get("name") or ""), "address": str(form.get("address") or "")}
    for name in ("lat", "lng"):
        raw = str(form.get(name) or "").strip()
        try:
            body[name] = float(raw) if raw else None
        except ValueError:
            errors[name] = _("error.number")
    radius = forms.integer(str(form.get("radius_m") or ""), "radius_m", errors, _)
    if radius is not None:
        body["radius_m"] = radius
    return body


@router.post("")
async def create(request: Request, session: ConsoleSession = Depends(checked)) -> Response:
    """Register a branch; invalid coordinates or radius come back inline."""
    require(session, ops.create_branch)
    _ = translator(language_of(request))
    form = await request.form()
    errors = forms.FieldErrors()
    body = _branch_body(form, errors, _)
    if not errors:
        try:
            branch = await grids.create_branch(session.principal, BranchIn.model_validate(body).model_dump())
        except ValidationError as exc:
            forms.from_validation(exc, BRANCH_FIELDS, errors, _)
        else:
            return RedirectResponse(f"/console/grids/{branch.id}?done=branch_created", status_code=303)
    scope = await repository.ops_scope(session.principal)
    rows, next_cursor = await paginate(repository.branches(scope, mine=False), PageParams(None, 50))
    values = {k: str(form.get(k) or "") for k in BRANCH_FIELDS}
    context = {"branches": rows, "mine": False, "next": next_cursor, "values": values, "errors": errors}
    return render(request, "grids.html", context, session=session, status_code=422)


@router.get("/{grid_id}")
async def grid_detail(
    request: Request,
    grid_id: Id,
    inactive_only: bool = Query(False),
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """A grid's dashboard: merchants by status, inactive merchants flagged, the drawing, the managers."""
    require(session, ops.grid_dashboard)
    branch = await repository.branch_for_ops(await repository.ops_scope(session.principal), grid_id)
    summary = await grids.grid_summary(branch, INACTIVE_DAYS)
    threshold = grids.inactive_before(INACTIVE_DAYS)
    inactive_ids = {m.id for m in await repository.grid_merchants(grid_id, idle_before=threshold)}
    query = repository.grid_merchants(grid_id, idle_before=threshold if inactive_only else None)
    merchants, next_cursor = await paginate(query, PageParams(cursor, 50))
    stores = await repository.grid_stores(grid_id)
    context = {
        "branch": branch,
        "summary": summary,
        "merchants": merchants,
        "inactive_ids": inactive_ids,
        "inactive_only": inactive_only,
        "inactive_days": INACTIVE_DAYS,
        "next": next_cursor,
        "drawing": draw(branch.lat, branch.lng, branch.radius_m, stores, inactive_ids),
        "managers": await grids.managers_of(grid_id),
        "can_edit": session.can(roles_of(ops.update_branch)),
        "can_assign": session.can(roles_of(ops.assign_manager)),
        "done": request.query_params.get("done"),
        "errors": {},
    }
    return render(request, "grid.html", context, session=session)


@router.post("/{grid_id}")
async def update(request: Request, grid_id: Id, session: ConsoleSession = Depends(checked)) -> Response:
    """Change a branch's name, address, coordinates or radius (the service re-assigns merchants)."""
    require(session, ops.update_branch)
    _ = translator(language_of(request))
    errors = forms.FieldErrors()
    body = _branch_body(await request.form(), errors, _)
    if errors:
        raise forms.invalid(errors)
    try:
        patch = BranchPatch.model_validate(body)
    except ValidationError as exc:
        forms.from_validation(exc, BRANCH_FIELDS, errors, _)
        raise forms.invalid(errors) from None
    scope = await repository.ops_scope(session.principal)
    await grids.update_branch(
        session.principal, scope, grid_id, patch.model_dump(exclude_unset=True, exclude_none=True)
    )
    return RedirectResponse(f"/console/grids/{grid_id}?done=branch_updated", status_code=303)


@router.post("/{grid_id}/managers")
async def assign(
    grid_id: Id, operator_id: int = Form(..., ge=1), session: ConsoleSession = Depends(checked)
) -> Response:
    """Make an operator with the grid_manager role responsible for this grid (admin)."""
    require(session, ops.assign_manager)
    await grids.assign_manager(session.principal, grid_id, operator_id)
    return RedirectResponse(f"/console/grids/{grid_id}?done=manager_assigned", status_code=303)


@router.post("/{grid_id}/managers/{operator_id}/remove")
async def unassign(grid_id: Id, operator_id: Id, session: ConsoleSession = Depends(checked)) -> Response:
    """The operator no longer manages this grid (admin)."""
    require(session, ops.unassign_manager)
    await grids.unassign_manager(session.principal, grid_id, operator_id)
    return RedirectResponse(f"/console/grids/{grid_id}?done=manager_removed", status_code=303)
