"""Merchant console routes (`/merchant/v1`): staff login and staff management."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from app.auth.deps import StaffRole, current_staff, require_staff_role
from app.auth.schemas import RefreshIn, TokenOut
from app.auth.sessions import refresh_session, revoke_sessions
from app.auth.tokens import Audience, Principal
from app.errors import problem_responses
from app.pagination import Page, PageParams, page_params, paginate
from merchants import repository, service
from merchants.schemas import MeOut, MerchantSignupIn, StaffInviteIn, StaffLoginIn, StaffOut

router = APIRouter()
AUTH_TAG = "Merchant console: auth and staff"
owner_only = require_staff_role(StaffRole.OWNER)


@router.post(
    "/auth/signup",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    tags=[AUTH_TAG],
    summary="Open a merchant account (owner login)",
    responses=problem_responses((409, "staff.phone_taken", "a staff account with this phone exists")),
)
async def signup(body: MerchantSignupIn) -> TokenOut:
    """Create a draft merchant and its owner account; returns the owner's tokens."""
    _, tokens = await service.sign_up(body.business_name, body.owner_name, body.phone, body.password)
    return TokenOut.of(tokens)


@router.post(
    "/auth/login",
    response_model=TokenOut,
    tags=[AUTH_TAG],
    summary="Staff login with phone and password",
    responses=problem_responses((401, "auth.bad_credentials", "wrong phone or password")),
)
async def login(body: StaffLoginIn) -> TokenOut:
    """Exchange a staff member's phone and password for tokens scoped to their merchant."""
    return TokenOut.of(await service.login(body.phone, body.password))


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    tags=[AUTH_TAG],
    summary="Rotate a staff refresh token",
    responses=problem_responses((401, "auth.token_invalid", "unknown, expired or reused refresh token")),
)
async def refresh(body: RefreshIn) -> TokenOut:
    """Swap a refresh token for a new token pair."""
    return TokenOut.of(await refresh_session(Audience.STAFF, body.refresh_token, service.staff_claims))


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=[AUTH_TAG], summary="End this session"
)
async def logout(staff: Principal = Depends(current_staff)) -> None:
    """Revoke the calling session."""
    await revoke_sessions([staff.session_id])


@router.get("/me", response_model=MeOut, tags=[AUTH_TAG], summary="The calling staff member and merchant")
async def me(staff: Principal = Depends(current_staff)) -> MeOut:
    """Who am I, at which merchant."""
    assert staff.merchant_id is not None
    merchant = await repository.get_merchant(staff.merchant_id)
    member = await repository.get_staff(staff.merchant_id, staff.id)
    return MeOut(
        staff=service.staff_out(member),
        merchant_id=merchant.id,
        merchant_name=merchant.name,
        merchant_status=merchant.status.value,
    )


@router.get("/staff", response_model=Page[StaffOut], tags=[AUTH_TAG], summary="List staff")
async def list_staff(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[StaffOut]:
    """Staff of the caller's merchant."""
    assert staff.merchant_id is not None
    rows, cursor = await paginate(repository.staff_of(staff.merchant_id), page)
    return Page(items=[service.staff_out(r) for r in rows], next_cursor=cursor)


@router.get(
    "/staff/{staff_id}",
    response_model=StaffOut,
    tags=[AUTH_TAG],
    summary="One staff member",
    responses=problem_responses((404, "staff.not_found", "no such staff member at your merchant")),
)
async def get_staff(staff_id: int, staff: Principal = Depends(current_staff)) -> StaffOut:
    """A staff member of the caller's merchant."""
    assert staff.merchant_id is not None
    return service.staff_out(await repository.get_staff(staff.merchant_id, staff_id))


@router.post(
    "/staff",
    response_model=StaffOut,
    status_code=status.HTTP_201_CREATED,
    tags=[AUTH_TAG],
    summary="Invite a manager or cashier (owner)",
    responses=problem_responses(
        (403, "auth.forbidden", "only the owner manages staff"),
        (409, "staff.phone_taken", "a staff account with this phone exists"),
    ),
)
async def invite_staff(body: StaffInviteIn, owner: Principal = Depends(owner_only)) -> StaffOut:
    """Add a staff member to the caller's merchant."""
    staff = await service.invite_staff(owner, body.phone, body.name, StaffRole(body.role), body.password)
    return service.staff_out(staff)


@router.delete(
    "/staff/{staff_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=[AUTH_TAG],
    summary="Remove a staff member (owner)",
    responses=problem_responses((404, "staff.not_found", "no such staff member at your merchant")),
)
async def remove_staff(staff_id: int, owner: Principal = Depends(owner_only)) -> None:
    """Deactivate a staff member; their sessions end at once."""
    await service.remove_staff(owner, staff_id)
