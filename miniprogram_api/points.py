"""The member's points (`/mp/v1/points`): balance and tier, points expiring, history."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.pagination import Page, PageParams, page_params
from loyalty import ledger
from loyalty.schemas import ExpiringOut, HistoryItemOut, PointsSummaryOut

router = APIRouter(tags=["Mini-program: points"])


@router.get("/points", response_model=PointsSummaryOut, summary="My points")
async def summary(member: Principal = Depends(current_member)) -> PointsSummaryOut:
    """Balance, tier, progress to the next tier and the next points to expire."""
    return PointsSummaryOut.of(await ledger.points_summary(member.id))


@router.get("/points/expiring", response_model=list[ExpiringOut], summary="My points by expiry date")
async def expiring(member: Principal = Depends(current_member)) -> list[ExpiringOut]:
    """How many points expire at the end of which day, soonest first."""
    return [ExpiringOut.of(item) for item in await ledger.points_expiring(member.id)]


@router.get("/points/history", response_model=Page[HistoryItemOut], summary="My points history")
async def history(
    member: Principal = Depends(current_member), page: PageParams = Depends(page_params)
) -> Page[HistoryItemOut]:
    """Every change of my points, newest first, with the merchant's name."""
    rows, cursor = await ledger.points_history(member.id, page)
    return Page(items=[HistoryItemOut.of(r) for r in rows], next_cursor=cursor)
