"""Ops routes of loyalty (`/ops/v1`): merchants' loyalty terms, members, points corrections."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.auth.deps import OperatorRole, current_operator, roles
from app.auth.tokens import Principal
from app.errors import problem_responses
from app.idempotency import idempotent
from loyalty import admin
from loyalty.schemas import PointsGrantIn, PostingOut, ProgramIn, ProgramOut, ReversalIn

router = APIRouter()
POINTS_TAG = "Ops: loyalty"


@router.get(
    "/loyalty/merchants/{merchant_id}/terms",
    response_model=ProgramOut,
    tags=[POINTS_TAG],
    summary="A merchant's loyalty terms",
    responses=problem_responses((404, "merchant.not_found", "no such merchant")),
)
@roles(OperatorRole.GRID_MANAGER, OperatorRole.CAMPAIGN_MANAGER, OperatorRole.AUDITOR)
async def get_terms(merchant_id: int) -> ProgramOut:
    """Earning rate, point value and benefit category in force (platform defaults when none set)."""
    return await admin.terms_out(merchant_id)


@router.put(
    "/loyalty/merchants/{merchant_id}/terms",
    response_model=ProgramOut,
    tags=[POINTS_TAG],
    summary="Set a merchant's loyalty terms",
    responses=problem_responses((404, "merchant.not_found", "no such merchant")),
)
@roles(OperatorRole.GRID_MANAGER)
async def set_terms(
    merchant_id: int, body: ProgramIn, operator: Principal = Depends(current_operator)
) -> ProgramOut:
    """Set the earning rate (points per ¥100), point value (fen) and category; audited."""
    await admin.set_terms(operator, merchant_id, body.earn_rate, body.point_value_fen, body.category)
    return await admin.terms_out(merchant_id)


@router.post(
    "/members/{member_id}/points",
    response_model=PostingOut,
    status_code=201,
    tags=[POINTS_TAG],
    summary="Credit points to a member",
    responses=problem_responses(
        (404, "member.not_found", "no such member"),
        (422, "validation_error", "points not a positive whole number, or over the limit"),
    ),
)
@roles()
@idempotent
async def grant_points(
    member_id: int, body: PointsGrantIn, operator: Principal = Depends(current_operator)
) -> PostingOut:
    """A goodwill credit or correction from the bank's pool (admin only); audited."""
    return PostingOut.model_validate(
        await admin.grant_points(operator, member_id, body.points, body.reason), from_attributes=True
    )


@router.post(
    "/points/reversals",
    response_model=PostingOut,
    status_code=201,
    tags=[POINTS_TAG],
    summary="Reverse a journal",
    responses=problem_responses(
        (404, "points.journal_not_found", "no journal with that reference"),
        (409, "points.not_reversible", "expiries and reversals cannot be reversed"),
    ),
)
@roles()
@idempotent
async def reverse(body: ReversalIn, operator: Principal = Depends(current_operator)) -> PostingOut:
    """Post the reversing journal of a journal (admin only); reversing twice returns the first reversal."""
    return PostingOut.model_validate(
        await admin.reverse(operator, body.reference, body.reason), from_attributes=True
    )
