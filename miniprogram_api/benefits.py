"""The benefits catalogue for members (`/mp/v1/benefits`): browse and redeem points for a voucher."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from app.core.timeutil import utcnow
from loyalty import vouchers
from loyalty.errors import BenefitNotFound
from loyalty.schemas import CatalogueItemOut, VoucherOut

router = APIRouter(tags=["Mini-program: benefits and vouchers"])


@router.get("/benefits", response_model=Page[CatalogueItemOut], summary="Benefits I can redeem points for")
async def catalogue(
    member: Principal = Depends(current_member), page: PageParams = Depends(page_params)
) -> Page[CatalogueItemOut]:
    """Active benefits with a price in points, newest first."""
    rows, cursor = await paginate(vouchers.catalogue(), page)
    return Page(items=[CatalogueItemOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/benefits/{benefit_id}",
    response_model=CatalogueItemOut,
    summary="One benefit",
    responses=problem_responses((404, "benefit.not_found", "no such benefit in the catalogue")),
)
async def benefit(benefit_id: Id, member: Principal = Depends(current_member)) -> CatalogueItemOut:
    """A benefit of the catalogue."""
    found = await vouchers.catalogue().get_or_none(id=benefit_id)
    if found is None:
        raise BenefitNotFound("benefit not found")
    return CatalogueItemOut.model_validate(found)


@router.post(
    "/benefits/{benefit_id}/redeem",
    response_model=VoucherOut,
    status_code=status.HTTP_201_CREATED,
    summary="Redeem points for a voucher",
    responses=problem_responses(
        (404, "benefit.not_found", "no such benefit in the catalogue"),
        (409, "member.not_joined", "join the alliance first"),
        (409, "points.insufficient", "not enough points (nothing was spent)"),
        (409, "benefit.sold_out", "no stock left"),
        (409, "benefit.limit_reached", "you hold as many of these as allowed"),
    ),
)
@idempotent
async def redeem(benefit_id: Id, member: Principal = Depends(current_member)) -> VoucherOut:
    """Spend the benefit's price in points and receive a voucher (all or nothing)."""
    voucher = await vouchers.buy_with_points(member.id, benefit_id)
    await voucher.fetch_related("benefit")
    return VoucherOut.of(voucher, utcnow())
