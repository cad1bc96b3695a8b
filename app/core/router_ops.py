"""Core ops routes: operator login, operators, the audit log and dead jobs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status

from app.core import jobs, queries
from app.core.auth import operators
from app.core.auth.deps import OperatorRole, any_operator, current_operator, roles
from app.core.auth.schemas import PasswordLoginIn, RefreshIn, TokenOut
from app.core.auth.sessions import refresh_session, revoke_sessions
from app.core.auth.tokens import Audience, Principal
from app.core.errors import Unauthorized, problem_responses
from app.core.inputs import Id, Instant
from app.core.models import Operator
from app.core.pagination import Page, PageParams, page_params, paginate
from app.core.schemas import (
    AuditEntryOut,
    DeadJobOut,
    OperatorIn,
    OperatorOut,
    OperatorPatch,
    PasswordChangeIn,
    RequeuedOut,
)

TAG = "Ops: operators and audit"
public = APIRouter(tags=[TAG])
router = APIRouter(tags=[TAG])


async def _operator_claims(operator_id: int) -> tuple[tuple[str, ...], int | None]:
    operator = await queries.active_operator(operator_id)
    if operator is None:
        raise Unauthorized("operator disabled", code="auth.token_revoked")
    return tuple(operator.roles), None


@public.post(
    "/auth/login",
    response_model=TokenOut,
    summary="Operator login with username and password",
    responses=problem_responses((401, "auth.bad_credentials", "wrong username or password")),
)
async def login(body: PasswordLoginIn) -> TokenOut:
    """Exchange an operator's username and password for tokens."""
    return TokenOut.of(await operators.login(body.username, body.password))


@public.post(
    "/auth/refresh",
    response_model=TokenOut,
    summary="Rotate an operator refresh token",
    responses=problem_responses((401, "auth.token_invalid", "unknown, expired or reused refresh token")),
)
async def refresh(body: RefreshIn) -> TokenOut:
    """Swap a refresh token for a new token pair."""
    return TokenOut.of(await refresh_session(Audience.OPERATOR, body.refresh_token, _operator_claims))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this operator session")
@any_operator
async def logout(operator: Principal = Depends(current_operator)) -> None:
    """Revoke the calling session: its access and refresh tokens stop working at once."""
    await revoke_sessions([operator.session_id])


@router.get("/me", response_model=OperatorOut, summary="The calling operator")
@any_operator
async def me(operator: Principal = Depends(current_operator)) -> Operator:
    """Who am I: username and roles."""
    return await queries.operator(operator.id)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, summary="Change my password")
@any_operator
async def change_password(body: PasswordChangeIn, operator: Principal = Depends(current_operator)) -> None:
    """Change the caller's password; every session of theirs ends."""
    await operators.change_password(operator, body.current_password, body.new_password)


@router.get("/operators", response_model=Page[OperatorOut], summary="List operators")
@roles(OperatorRole.ADMIN)
async def list_operators(page: PageParams = Depends(page_params)) -> Page[OperatorOut]:
    """Every operator, newest first."""
    rows, cursor = await paginate(queries.operators(), page)
    return Page(items=[OperatorOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/operators",
    response_model=OperatorOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an operator",
    responses=problem_responses((409, "operator.exists", "username taken")),
)
@roles(OperatorRole.ADMIN)
async def create_operator(body: OperatorIn, operator: Principal = Depends(current_operator)) -> Operator:
    """Create an operator with roles."""
    return await operators.create_operator(
        operator, body.username, body.password, body.roles, body.display_name
    )


@router.patch(
    "/operators/{operator_id}",
    response_model=OperatorOut,
    summary="Change an operator's roles or status",
    responses=problem_responses(
        (409, "operator.last_admin", "it would leave no active admin (the last admin keeps the role)")
    ),
)
@roles(OperatorRole.ADMIN)
async def update_operator(
    operator_id: Id, body: OperatorPatch, operator: Principal = Depends(current_operator)
) -> Operator:
    """Change roles or deactivate; the operator's sessions end."""
    return await operators.update_operator(operator, operator_id, roles=body.roles, is_active=body.is_active)


@router.get("/audit", response_model=Page[AuditEntryOut], summary="Query the audit log")
@roles(OperatorRole.AUDITOR)
async def audit_log(
    target_type: str | None = Query(None, max_length=32),
    target_id: str | None = Query(None, max_length=64),
    actor_type: str | None = Query(None, max_length=16),
    actor_id: Id | None = None,
    action: str | None = Query(None, max_length=64),
    since: Instant | None = None,
    page: PageParams = Depends(page_params),
) -> Page[AuditEntryOut]:
    """Append-only audit entries, newest first, filtered."""
    qs = queries.audit_entries(
        target_type=target_type,
        target_id=target_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        since=since,
    )
    rows, cursor = await paginate(qs, page)
    return Page(items=[AuditEntryOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/jobs/dead", response_model=Page[DeadJobOut], summary="Jobs that failed on every try")
@roles(OperatorRole.ADMIN)
async def dead_jobs(page: PageParams = Depends(page_params)) -> Page[DeadJobOut]:
    """Dead jobs, newest first, for ops to inspect."""
    rows, cursor = await paginate(queries.dead_jobs(), page)
    return Page(items=[DeadJobOut.of(r) for r in rows], next_cursor=cursor)


@router.get("/jobs/dead/{dead_id}", response_model=DeadJobOut, summary="One dead job")
@roles(OperatorRole.ADMIN)
async def dead_job(dead_id: Id) -> DeadJobOut:
    """A dead job with its last error."""
    return DeadJobOut.of(await queries.dead_job(dead_id))


@router.post(
    "/jobs/dead/{dead_id}/requeue",
    response_model=RequeuedOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a dead job again",
    responses=problem_responses((404, "not_found", "no such dead job")),
)
@roles(OperatorRole.ADMIN)
async def requeue_dead_job(dead_id: Id, operator: Principal = Depends(current_operator)) -> RequeuedOut:
    """Queue the job again with its arguments (jobs are safe to run twice); its dead record goes; audited."""
    message = await jobs.requeue_dead(operator, dead_id)
    return RequeuedOut(job_name=message.job_name, outbox_id=message.id)
