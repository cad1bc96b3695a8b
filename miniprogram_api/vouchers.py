"""My vouchers (`/mp/v1/vouchers`): the list by status, and the QR token shown at the till."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response

from app.core.auth.deps import current_member
from app.core.auth.tokens import Principal
from app.core.errors import problem_responses
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from app.core.ratelimit import limit_per_principal
from app.core.timeutil import utcnow
from loyalty import vouchers as loyalty_vouchers
from loyalty.errors import VoucherExpired, VoucherNotYetValid
from loyalty.schemas import VoucherOut, VoucherTokenOut
from loyalty.till import issue_voucher_token

router = APIRouter(tags=["Mini-program: benefits and vouchers"])
_token_limit = limit_per_principal("mp-voucher-token", current_member, limit=60, period=60)


@router.get("/vouchers", response_model=Page[VoucherOut], summary="My vouchers")
async def my_vouchers(
    status: Literal["active", "used", "expired", "revoked"] | None = Query(
        None, description="filter; all when omitted"
    ),
    member: Principal = Depends(current_member),
    page: PageParams = Depends(page_params),
) -> Page[VoucherOut]:
    """My vouchers, newest first: active (usable now or later), used, or expired unused."""
    now = utcnow()
    rows, cursor = await paginate(loyalty_vouchers.vouchers_of(member.id, status, now), page)
    return Page(items=[VoucherOut.of(v, now) for v in rows], next_cursor=cursor)


@router.get(
    "/vouchers/{voucher_id}",
    response_model=VoucherOut,
    summary="One of my vouchers",
    responses=problem_responses((404, "voucher.not_found", "no such voucher of yours")),
)
async def my_voucher(voucher_id: Id, member: Principal = Depends(current_member)) -> VoucherOut:
    """A voucher of mine."""
    return VoucherOut.of(await loyalty_vouchers.voucher_of(member.id, voucher_id), utcnow())


@router.post(
    "/vouchers/{voucher_id}/token",
    response_model=VoucherTokenOut,
    summary="The voucher's QR token",
    responses=problem_responses(
        (404, "voucher.not_found", "no such voucher of yours"),
        (409, "voucher.used", "the voucher was already redeemed"),
        (409, "voucher.revoked", "the voucher was taken back (its purchase was refunded)"),
        (410, "voucher.expired", "the voucher has expired"),
        (409, "voucher.not_yet_valid", "the voucher is not valid yet"),
        (429, "rate_limited", "too many tokens"),
    ),
)
async def voucher_token(
    voucher_id: Id, response: Response, member: Principal = Depends(_token_limit)
) -> VoucherTokenOut:
    """A signed token valid 60 seconds, shown as a QR code for the merchant to scan; each works once."""
    voucher = await loyalty_vouchers.voucher_of(member.id, voucher_id)
    now = utcnow()
    loyalty_vouchers.check_unused(voucher)
    if voucher.valid_until <= now:
        raise VoucherExpired("the voucher has expired")
    if voucher.valid_from > now:
        raise VoucherNotYetValid("the voucher is not valid yet")
    token, expires_at = issue_voucher_token(voucher.id, member.id)
    response.headers["Cache-Control"] = "no-store"
    return VoucherTokenOut(token=token, expires_at=expires_at)
