"""The `/mp/v1` router: every customer-facing area, included explicitly."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.auth.deps import current_member
from app.auth.tokens import Principal
from loyalty.models import Member
from miniprogram_api import auth, campaigns
from miniprogram_api.schemas import MemberOut

router = APIRouter()
router.include_router(auth.router)
router.include_router(campaigns.router)


@router.get("/me", response_model=MemberOut, tags=["Mini-program: profile"], summary="My profile")
async def me(member: Principal = Depends(current_member)) -> Member:
    """The calling member's profile."""
    return await Member.get(id=member.id)
