"""Ops routes (`/ops/v1`): branches and grids, grid managers, merchant review and lifecycle, dashboards."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import Response

from app.core.auth.deps import OperatorRole, current_operator, roles
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from merchants import repository, views
from merchants.grids import service as grids
from merchants.models import Branch, Merchant, MerchantStatus
from merchants.onboarding import applications as onboarding
from merchants.onboarding.storage import image_responses
from merchants.repository import OpsScope
from merchants.schemas import (
    BranchIn,
    BranchOut,
    BranchPatch,
    ChangeOut,
    GridManagerIn,
    GridManagerOut,
    GridOverrideIn,
    GridSummaryOut,
    MerchantActivityOut,
    MerchantBriefOut,
    MerchantOut,
    OpsApplicationIn,
    ReasonIn,
)

router = APIRouter()
GRID_TAG = "Ops: branches and grids"
REVIEW_TAG = "Ops: merchant review and lifecycle"
GM = OperatorRole.GRID_MANAGER
_NOT_FOUND = (404, "merchant.not_found", "no such merchant in your grids")
_TRANSITION = (409, "merchant.invalid_transition", "the merchant's status does not allow this")
_GRID_NOT_FOUND = (404, "grid.not_found", "no such grid (or not yours)")


async def scope_of(operator: Principal = Depends(current_operator)) -> OpsScope:
    """The calling operator's merchant scope."""
    return await repository.ops_scope(operator)


def _brief(m: Merchant) -> MerchantBriefOut:
    return MerchantBriefOut(
        id=m.id,
        name=m.name,
        status=m.status.value,
        category=m.category.value if m.category else None,
        credit_code=m.credit_code,
        grid_id=m.grid_id,
        unassigned=m.grid_id is None,
        submitted_at=m.submitted_at,
        last_activity_at=m.last_activity_at,
        created_at=m.created_at,
    )


# -- branches and grids --------------------------------------------------------------------------


@router.post(
    "/branches",
    response_model=BranchOut,
    status_code=status.HTTP_201_CREATED,
    tags=[GRID_TAG],
    summary="Register a branch and its grid",
    responses=problem_responses((422, "validation_error", "coordinates out of range or radius invalid")),
)
@roles(GM)
async def create_branch(body: BranchIn, operator: Principal = Depends(current_operator)) -> Branch:
    """A branch with GCJ-02 coordinates; its grid is the circle of `radius_m` around it."""
    return await grids.create_branch(operator, body.model_dump())


@router.get("/branches", response_model=Page[BranchOut], tags=[GRID_TAG], summary="List branches")
@roles(GM)
async def list_branches(
    mine: bool = Query(False, description="only the grids I manage"),
    scope: OpsScope = Depends(scope_of),
    page: PageParams = Depends(page_params),
) -> Page[BranchOut]:
    """Every branch (bank outlets are public), or only the caller's grids."""
    rows, cursor = await paginate(repository.branches(scope, mine=mine), page)
    return Page(items=[BranchOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/branches/{branch_id}",
    response_model=BranchOut,
    tags=[GRID_TAG],
    summary="One branch",
    responses=problem_responses(_GRID_NOT_FOUND),
)
@roles(GM)
async def get_branch(branch_id: Id) -> Branch:
    """A branch and its grid radius."""
    return await grids.get_branch(branch_id)


@router.patch(
    "/branches/{branch_id}",
    response_model=BranchOut,
    tags=[GRID_TAG],
    summary="Change a branch",
    responses=problem_responses(_GRID_NOT_FOUND),
)
@roles(GM)
async def update_branch(
    branch_id: Id,
    body: BranchPatch,
    operator: Principal = Depends(current_operator),
    scope: OpsScope = Depends(scope_of),
) -> Branch:
    """Name, address, coordinates or radius of a branch the caller manages."""
    return await grids.update_branch(
        operator, scope, branch_id, body.model_dump(exclude_unset=True, exclude_none=True)
    )


@router.get(
    "/grids/{grid_id}/managers",
    response_model=list[GridManagerOut],
    tags=[GRID_TAG],
    summary="Managers of a grid",
    responses=problem_responses(_GRID_NOT_FOUND),
)
@roles(GM)
async def list_managers(grid_id: Id) -> list[GridManagerOut]:
    """The account managers responsible for a grid."""
    await grids.get_branch(grid_id)
    return [
        GridManagerOut(operator_id=i, username=u, grid_id=grid_id)
        for i, u in await grids.managers_of(grid_id)
    ]


@router.post(
    "/grids/{grid_id}/managers",
    response_model=GridManagerOut,
    status_code=status.HTTP_201_CREATED,
    tags=[GRID_TAG],
    summary="Assign a grid manager (admin)",
    responses=problem_responses(
        _GRID_NOT_FOUND, (422, "validation_error", "operator_id is not a grid manager")
    ),
)
@roles(OperatorRole.ADMIN)
async def assign_manager(
    grid_id: Id, body: GridManagerIn, operator: Principal = Depends(current_operator)
) -> GridManagerOut:
    """Make an operator with the grid_manager role responsible for this grid."""
    manager = await grids.assign_manager(operator, grid_id, body.operator_id)
    return GridManagerOut(operator_id=manager.id, username=manager.username, grid_id=grid_id)


@router.delete(
    "/grids/{grid_id}/managers/{operator_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=[GRID_TAG],
    summary="Remove a grid manager (admin)",
    responses=problem_responses(_GRID_NOT_FOUND),
)
@roles(OperatorRole.ADMIN)
async def unassign_manager(
    grid_id: Id, operator_id: Id, operator: Principal = Depends(current_operator)
) -> None:
    """The operator no longer sees this grid's merchants."""
    await grids.unassign_manager(operator, grid_id, operator_id)


@router.get(
    "/grids/{grid_id}/dashboard",
    response_model=GridSummaryOut,
    tags=[GRID_TAG],
    summary="Grid dashboard",
    responses=problem_responses(_GRID_NOT_FOUND),
)
@roles(GM)
async def grid_dashboard(
    grid_id: Id,
    inactive_days: int = Query(30, ge=1, le=365, description="flag active merchants idle this long"),
    scope: OpsScope = Depends(scope_of),
) -> GridSummaryOut:
    """Merchants by status, stores, inactive merchants, last activity and the other domains' figures."""
    branch = await repository.branch_for_ops(scope, grid_id)
    summary = await grids.grid_summary(branch, inactive_days)
    return GridSummaryOut(
        grid=BranchOut.model_validate(branch),
        merchants_by_status=summary.by_status,
        stores=summary.stores,
        inactive_days=inactive_days,
        inactive_merchants=summary.inactive,
        last_activity_at=summary.last_activity_at,
        metrics=summary.metrics,
    )


@router.get(
    "/grids/{grid_id}/merchants",
    response_model=Page[MerchantActivityOut],
    tags=[GRID_TAG],
    summary="Per-merchant activity in a grid",
    responses=problem_responses(_GRID_NOT_FOUND),
)
@roles(GM)
async def grid_merchants(
    grid_id: Id,
    inactive_days: int = Query(30, ge=1, le=365),
    inactive_only: bool = Query(False, description="only active merchants idle for inactive_days"),
    scope: OpsScope = Depends(scope_of),
    page: PageParams = Depends(page_params),
) -> Page[MerchantActivityOut]:
    """Each merchant's last activity, inactivity flag and the other domains' figures."""
    await repository.branch_for_ops(scope, grid_id)
    threshold = grids.inactive_before(inactive_days)
    query = repository.grid_merchants(grid_id, idle_before=threshold if inactive_only else None)
    rows, cursor = await paginate(query, page)
    metrics = await grids.merchant_metrics([m.id for m in rows])
    items = [
        MerchantActivityOut(
            id=m.id,
            name=m.name,
            status=m.status.value,
            last_activity_at=m.last_activity_at,
            inactive=m.status == MerchantStatus.ACTIVE
            and (m.last_activity_at is None or m.last_activity_at < threshold),
            metrics=metrics.get(m.id, {}),
        )
        for m in rows
    ]
    return Page(items=items, next_cursor=cursor)


# -- merchants -------------------------------------------------------------------------------------


@router.get("/merchants", response_model=Page[MerchantBriefOut], tags=[REVIEW_TAG], summary="List merchants")
@roles(GM)
async def list_merchants(
    status_: MerchantStatus | None = Query(None, alias="status"),
    grid_id: Id | None = None,
    unassigned: bool = Query(False, description="only merchants outside every grid (admins)"),
    scope: OpsScope = Depends(scope_of),
    page: PageParams = Depends(page_params),
) -> Page[MerchantBriefOut]:
    """Merchants of the caller's grids (all for admins); `status=submitted` is the review queue."""
    query = repository.merchants_in(scope)
    if status_ is not None:
        query = query.filter(status=status_)
    if grid_id is not None:
        query = query.filter(grid_id=grid_id)
    if unassigned:
        query = query.filter(grid_id__isnull=True)
    rows, cursor = await paginate(query, page)
    return Page(items=[_brief(m) for m in rows], next_cursor=cursor)


@router.post(
    "/merchants",
    response_model=MerchantOut,
    status_code=status.HTTP_201_CREATED,
    tags=[REVIEW_TAG],
    summary="File an application on a merchant's behalf",
    responses=problem_responses(
        (403, "grid.not_yours", "the store lies outside your grids"),
        (409, "merchant.credit_code_taken", "another merchant has this credit code"),
        (409, "staff.phone_taken", "the owner's phone already has an account"),
        (422, "validation_error", "a field is invalid (named in `errors`)"),
    ),
)
@roles(GM)
async def file_application(
    body: OpsApplicationIn,
    operator: Principal = Depends(current_operator),
    scope: OpsScope = Depends(scope_of),
) -> MerchantOut:
    """An account manager signs a merchant up: owner login plus a draft application in one of their grids."""
    owner = {"name": body.owner_name, "phone": body.owner_phone, "password": body.owner_password}
    merchant = await onboarding.file_for_merchant(operator, scope, owner, body.changes())
    return await views.merchant_out(merchant.id, reveal=False)


@router.get(
    "/merchants/{merchant_id}",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="One merchant (masked)",
    responses=problem_responses(_NOT_FOUND),
)
@roles(GM)
async def get_merchant(merchant_id: Id, scope: OpsScope = Depends(scope_of)) -> MerchantOut:
    """The application, stores and pending change; phone and account masked."""
    await repository.merchant_for_ops(scope, merchant_id)
    return await views.merchant_out(merchant_id, reveal=False)


@router.get(
    "/merchants/{merchant_id}/licence",
    tags=[REVIEW_TAG],
    summary="The merchant's licence image",
    response_class=Response,
    responses=image_responses("image/png", "image/jpeg")
    | problem_responses(_NOT_FOUND, (404, "merchant.licence_missing", "no licence uploaded")),
)
@roles(GM)
async def get_licence(merchant_id: Id, scope: OpsScope = Depends(scope_of)) -> Response:
    """The business licence for review."""
    return await onboarding.licence_response(await repository.merchant_for_ops(scope, merchant_id))


async def _reviewed(merchant_id: Id) -> MerchantOut:
    return await views.merchant_out(merchant_id, reveal=False)


_LIFECYCLE = problem_responses(_NOT_FOUND, _TRANSITION)


@router.post(
    "/merchants/{merchant_id}/submit",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Submit an application on the merchant's behalf",
    responses=problem_responses(
        _NOT_FOUND, _TRANSITION, (422, "merchant.incomplete", "required fields missing")
    ),
)
@roles(GM)
async def submit(
    merchant_id: Id, operator: Principal = Depends(current_operator), scope: OpsScope = Depends(scope_of)
) -> MerchantOut:
    """Draft or rejected → submitted."""
    await repository.merchant_for_ops(scope, merchant_id)
    await onboarding.submit(operator, merchant_id)
    return await _reviewed(merchant_id)


@router.post(
    "/merchants/{merchant_id}/approve",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Approve an application",
    responses=_LIFECYCLE,
)
@roles(GM)
async def approve(
    merchant_id: Id, operator: Principal = Depends(current_operator), scope: OpsScope = Depends(scope_of)
) -> MerchantOut:
    """Submitted → approved → active: the store QR code is issued and the store appears nearby."""
    await onboarding.approve(operator, scope, merchant_id)
    return await _reviewed(merchant_id)


@router.post(
    "/merchants/{merchant_id}/reject",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Reject an application with a reason",
    responses=_LIFECYCLE,
)
@roles(GM)
async def reject(
    merchant_id: Id,
    body: ReasonIn,
    operator: Principal = Depends(current_operator),
    scope: OpsScope = Depends(scope_of),
) -> MerchantOut:
    """Submitted → rejected; the merchant sees the reason, fixes the application and resubmits."""
    await onboarding.reject(operator, scope, merchant_id, body.reason)
    return await _reviewed(merchant_id)


@router.post(
    "/merchants/{merchant_id}/suspend",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Suspend an active merchant",
    responses=_LIFECYCLE,
)
@roles(GM)
async def suspend(
    merchant_id: Id,
    body: ReasonIn,
    operator: Principal = Depends(current_operator),
    scope: OpsScope = Depends(scope_of),
) -> MerchantOut:
    """Active → suspended; its stores leave nearby at once."""
    await onboarding.suspend(operator, scope, merchant_id, body.reason)
    return await _reviewed(merchant_id)


@router.post(
    "/merchants/{merchant_id}/reactivate",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Reactivate a suspended merchant",
    responses=_LIFECYCLE,
)
@roles(GM)
async def reactivate(
    merchant_id: Id,
    body: ReasonIn,
    operator: Principal = Depends(current_operator),
    scope: OpsScope = Depends(scope_of),
) -> MerchantOut:
    """Suspended → active."""
    await onboarding.reactivate(operator, scope, merchant_id, body.reason)
    return await _reviewed(merchant_id)


@router.put(
    "/merchants/{merchant_id}/grid",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Override a merchant's grid (admin)",
    responses=problem_responses(_NOT_FOUND, _GRID_NOT_FOUND),
)
@roles(OperatorRole.ADMIN)
async def override_grid(
    merchant_id: Id, body: GridOverrideIn, operator: Principal = Depends(current_operator)
) -> MerchantOut:
    """Put the merchant in a grid by hand; null returns it to automatic assignment."""
    await onboarding.override_grid(operator, merchant_id, body.grid_id)
    return await _reviewed(merchant_id)


@router.get(
    "/merchants/{merchant_id}/changes",
    response_model=Page[ChangeOut],
    tags=[REVIEW_TAG],
    summary="Legal-field change requests of a merchant",
    responses=problem_responses(_NOT_FOUND),
)
@roles(GM)
async def list_changes(
    merchant_id: Id, scope: OpsScope = Depends(scope_of), page: PageParams = Depends(page_params)
) -> Page[ChangeOut]:
    """Pending and decided change requests, newest first (personal values masked)."""
    await repository.merchant_for_ops(scope, merchant_id)
    rows, cursor = await paginate(repository.changes_of(merchant_id), page)
    return Page(items=[views.change_out(c, reveal=False) for c in rows], next_cursor=cursor)


@router.post(
    "/merchants/{merchant_id}/changes/{change_id}/approve",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Approve a legal-field change",
    responses=problem_responses(
        _NOT_FOUND,
        (404, "merchant.change_not_found", "no such change"),
        (409, "merchant.invalid_transition", "the change was already decided"),
        (409, "merchant.credit_code_taken", "another merchant took this credit code meanwhile"),
    ),
)
@roles(GM)
async def approve_change(
    merchant_id: Id,
    change_id: Id,
    operator: Principal = Depends(current_operator),
    scope: OpsScope = Depends(scope_of),
) -> MerchantOut:
    """Apply the new legal fields; the merchant kept serving on its old data until now."""
    await onboarding.decide_change(operator, scope, merchant_id, change_id, approve=True)
    return await _reviewed(merchant_id)


@router.post(
    "/merchants/{merchant_id}/changes/{change_id}/reject",
    response_model=MerchantOut,
    tags=[REVIEW_TAG],
    summary="Reject a legal-field change with a reason",
    responses=problem_responses(
        _NOT_FOUND,
        (404, "merchant.change_not_found", "no such change"),
        (409, "merchant.invalid_transition", "the change was already decided"),
    ),
)
@roles(GM)
async def reject_change(
    merchant_id: Id,
    change_id: Id,
    body: ReasonIn,
    operator: Principal = Depends(current_operator),
    scope: OpsScope = Depends(scope_of),
) -> MerchantOut:
    """Drop the change; the merchant keeps its current data."""
    await onboarding.decide_change(operator, scope, merchant_id, change_id, approve=False, reason=body.reason)
    return await _reviewed(merchant_id)
