"""Merchant console routes: the campaigns a store takes part in."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.core.auth.deps import current_staff
from app.core.auth.tokens import Principal
from app.core.pagination import Page, PageParams, page_params, paginate
from campaigns import repository
from campaigns.schemas import CampaignPublicOut
from campaigns.views import public_out

router = APIRouter(tags=["Merchant: campaigns"])


@router.get("/campaigns", response_model=Page[CampaignPublicOut], summary="My store's campaigns")
async def my_campaigns(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[CampaignPublicOut]:
    """Approved, live and paused campaigns this merchant takes part in or funds, newest first."""
    assert staff.merchant_id is not None
    rows, cursor = await paginate(repository.merchant_live_query(staff.merchant_id), page)
    return Page(items=await public_out(rows), next_cursor=cursor)
