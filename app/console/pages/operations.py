"""Operations: the audit log, dead jobs, operators and roles (admin), and one's own password."""

from __future__ import annotations

from datetime import datetime, time

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.console.deps import checked, require, signed_in
from app.console.rendering import render
from app.console.session import COOKIE, ConsoleSession
from app.core import jobs, queries
from app.core import router_ops as ops
from app.core.auth import operators
from app.core.auth.deps import OperatorRole
from app.core.errors import InvalidField
from app.core.inputs import Day, Id
from app.core.pagination import PageParams, paginate
from app.core.timeutil import BUSINESS_TZ

router = APIRouter()


@router.get("/audit")
async def audit_log(
    request: Request,
    actor_type: str = Query("", max_length=16),
    actor_id: str = Query("", max_length=20),
    action: str = Query("", max_length=64),
    target_type: str = Query("", max_length=32),
    target_id: str = Query("", max_length=64),
    since: Day | None = None,
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Audit entries, newest first, filtered by actor, action, object and day (Beijing time)."""
    require(session, ops.audit_log)
    query = queries.audit_entries(
        actor_type=actor_type or None,
        actor_id=int(actor_id) if actor_id.isdigit() else None,
        action=action or None,
        target_type=target_type or None,
        target_id=target_id or None,
        since=datetime.combine(since, time(), BUSINESS_TZ) if since else None,
    )
    rows, next_cursor = await paginate(query, PageParams(cursor, 50))
    filters = {
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "since": since.isoformat() if since else "",
    }
    context = {"entries": rows, "filters": filters, "next": next_cursor}
    return render(request, "audit.html", context, session=session)


@router.get("/jobs/dead")
async def dead_jobs(
    request: Request,
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Jobs that failed on every try, newest first."""
    require(session, ops.dead_jobs)
    rows, next_cursor = await paginate(queries.dead_jobs(), PageParams(cursor, 50))
    context = {"jobs": rows, "next": next_cursor, "done": request.query_params.get("done")}
    return render(request, "dead_jobs.html", context, session=session)


@router.get("/jobs/dead/{dead_id}")
async def dead_job(request: Request, dead_id: Id, session: ConsoleSession = Depends(signed_in)) -> Response:
    """One dead job with its arguments and last error."""
    require(session, ops.dead_job)
    return render(request, "dead_job.html", {"job": await queries.dead_job(dead_id)}, session=session)


@router.post("/jobs/dead/{dead_id}/requeue")
async def requeue(dead_id: Id, session: ConsoleSession = Depends(checked)) -> Response:
    """Send a dead job again (the core service: its dead record goes, audited)."""
    require(session, ops.requeue_dead_job)
    await jobs.requeue_dead(session.principal, dead_id)
    return RedirectResponse("/console/jobs/dead?done=requeued", status_code=303)


@router.get("/operators")
async def operator_list(
    request: Request,
    cursor: str | None = Query(None, max_length=256),
    session: ConsoleSession = Depends(signed_in),
) -> Response:
    """Operators and their roles, with the forms to add one or change roles (admin)."""
    require(session, ops.list_operators)
    rows, next_cursor = await paginate(queries.operators(), PageParams(cursor, 50))
    context = {
        "operators": rows,
        "roles": list(OperatorRole),
        "next": next_cursor,
        "done": request.query_params.get("done"),
    }
    return render(request, "operators.html", context, session=session)


def _roles(form_roles: list[str]) -> list[OperatorRole]:
    known = {role.value for role in OperatorRole}
    return [OperatorRole(r) for r in form_roles if r in known]


@router.post("/operators")
async def create_operator(request: Request, session: ConsoleSession = Depends(checked)) -> Response:
    """Add an operator with roles (the core service: audited, password rules)."""
    require(session, ops.create_operator)
    form = await request.form()
    username = str(form.get("username") or "").strip()
    if not 1 <= len(username) <= 64:
        raise InvalidField("username", "1 to 64 characters")
    await operators.create_operator(
        session.principal,
        username,
        str(form.get("password") or ""),
        _roles([str(r) for r in form.getlist("roles")]),
        str(form.get("display_name") or "")[:64],
    )
    return RedirectResponse("/console/operators?done=operator_created", status_code=303)


@router.post("/operators/{operator_id}")
async def update_operator(
    request: Request, operator_id: Id, session: ConsoleSession = Depends(checked)
) -> Response:
    """Change an operator's roles or active flag; their sessions end (console ones too)."""
    require(session, ops.update_operator)
    form = await request.form()
    await operators.update_operator(
        session.principal,
        operator_id,
        roles=_roles([str(r) for r in form.getlist("roles")]),
        is_active=form.get("is_active") == "on",
    )
    if operator_id == session.principal.id:
        return RedirectResponse("/console/login", status_code=303)
    return RedirectResponse("/console/operators?done=operator_updated", status_code=303)


@router.get("/me/password")
async def password_form(request: Request, session: ConsoleSession = Depends(signed_in)) -> Response:
    """The form to change one's own password."""
    require(session, ops.change_password)
    return render(request, "password.html", {}, session=session)


@router.post("/me/password")
async def change_password(
    current_password: str = Form(..., max_length=128),
    new_password: str = Form(..., max_length=128),
    session: ConsoleSession = Depends(checked),
) -> Response:
    """Change one's password: every session of theirs ends, this one included."""
    require(session, ops.change_password)
    await operators.change_password(session.principal, current_password, new_password)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
