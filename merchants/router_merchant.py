"""Merchant console routes (`/merchant/v1`): staff login and staff, the application, stores and QR codes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, UploadFile, status
from fastapi.responses import Response

from app.core.auth.deps import StaffRole, current_staff, require_staff_role
from app.core.auth.schemas import RefreshIn, TokenOut
from app.core.auth.sessions import refresh_session, revoke_sessions
from app.core.auth.tokens import Audience, Principal
from app.core.errors import Forbidden, problem_responses
from app.core.inputs import Id
from app.core.pagination import Page, PageParams, page_params, paginate
from merchants import repository, views
from merchants.discovery import qr
from merchants.onboarding import applications as onboarding
from merchants.onboarding import storage
from merchants.onboarding.storage import image_responses
from merchants.schemas import (
    ApplicationIn,
    MeOut,
    MerchantOut,
    MerchantSignupIn,
    QrOut,
    StaffInviteIn,
    StaffLoginIn,
    StaffOut,
    StoreOut,
)
from merchants.staff import accounts

router = APIRouter()
AUTH_TAG = "Merchant console: auth and staff"
APP_TAG = "Merchant console: application and profile"
STORE_TAG = "Merchant console: stores and QR codes"
owner_only = require_staff_role(StaffRole.OWNER)
owner_or_manager = require_staff_role(StaffRole.OWNER, StaffRole.MANAGER)
LICENCE_LIMIT = storage.MAX_IMAGE_BYTES


def _merchant_id(staff: Principal) -> int:
    assert staff.merchant_id is not None
    return staff.merchant_id


def _is_owner(staff: Principal) -> bool:
    return StaffRole.OWNER.value in staff.roles


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
    _, tokens = await accounts.sign_up(body.business_name, body.owner_name, body.phone, body.password)
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
    return TokenOut.of(await accounts.login(body.phone, body.password))


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    tags=[AUTH_TAG],
    summary="Rotate a staff refresh token",
    responses=problem_responses((401, "auth.token_invalid", "unknown, expired or reused refresh token")),
)
async def refresh(body: RefreshIn) -> TokenOut:
    """Swap a refresh token for a new token pair."""
    return TokenOut.of(await refresh_session(Audience.STAFF, body.refresh_token, accounts.staff_claims))


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=[AUTH_TAG], summary="End this session"
)
async def logout(staff: Principal = Depends(current_staff)) -> None:
    """Revoke the calling session."""
    await revoke_sessions([staff.session_id])


@router.get("/me", response_model=MeOut, tags=[AUTH_TAG], summary="The calling staff member and merchant")
async def me(staff: Principal = Depends(current_staff)) -> MeOut:
    """Who am I, at which merchant."""
    merchant = await repository.get_merchant(_merchant_id(staff))
    member = await repository.get_staff(_merchant_id(staff), staff.id)
    return MeOut(
        staff=accounts.staff_out(member),
        merchant_id=merchant.id,
        merchant_name=merchant.name,
        merchant_status=merchant.status.value,
    )


@router.get("/staff", response_model=Page[StaffOut], tags=[AUTH_TAG], summary="List staff")
async def list_staff(
    staff: Principal = Depends(current_staff), page: PageParams = Depends(page_params)
) -> Page[StaffOut]:
    """Staff of the caller's merchant."""
    rows, cursor = await paginate(repository.staff_of(_merchant_id(staff)), page)
    return Page(items=[accounts.staff_out(r) for r in rows], next_cursor=cursor)


@router.get(
    "/staff/{staff_id}",
    response_model=StaffOut,
    tags=[AUTH_TAG],
    summary="One staff member",
    responses=problem_responses((404, "staff.not_found", "no such staff member at your merchant")),
)
async def get_staff(staff_id: Id, staff: Principal = Depends(current_staff)) -> StaffOut:
    """A staff member of the caller's merchant."""
    return accounts.staff_out(await repository.get_staff(_merchant_id(staff), staff_id))


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
    staff = await accounts.invite_staff(owner, body.phone, body.name, StaffRole(body.role), body.password)
    return accounts.staff_out(staff)


@router.delete(
    "/staff/{staff_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=[AUTH_TAG],
    summary="Remove a staff member (owner)",
    responses=problem_responses((404, "staff.not_found", "no such staff member at your merchant")),
)
async def remove_staff(staff_id: Id, owner: Principal = Depends(owner_only)) -> None:
    """Deactivate a staff member; their sessions end at once."""
    await accounts.remove_staff(owner, staff_id)


# -- application and profile ---------------------------------------------------------------------


@router.get("/application", response_model=MerchantOut, tags=[APP_TAG], summary="My application and profile")
async def get_application(staff: Principal = Depends(current_staff)) -> MerchantOut:
    """Status, rejection reason, fields and pending change; phone and account unmasked for the owner only."""
    return await views.merchant_out(_merchant_id(staff), reveal=_is_owner(staff))


@router.patch(
    "/application",
    response_model=MerchantOut,
    tags=[APP_TAG],
    summary="Edit the application or profile",
    responses=problem_responses(
        (403, "auth.forbidden", "legal fields are the owner's"),
        (409, "merchant.credit_code_taken", "another merchant has this credit code"),
        (409, "merchant.under_review", "a submitted application cannot be edited"),
        (409, "merchant.change_pending", "a legal-field change already waits for review"),
        (422, "validation_error", "a field is invalid (named in `errors`)"),
    ),
)
async def edit_application(body: ApplicationIn, staff: Principal = Depends(owner_or_manager)) -> MerchantOut:
    """Draft or rejected: edit freely. Active: cosmetic fields apply at once, legal ones go to review."""
    changes = body.changes()
    if not _is_owner(staff) and onboarding.LEGAL_FIELDS.intersection(changes):
        raise Forbidden("only the owner changes legal fields", code="auth.forbidden")
    await onboarding.update_application(staff, _merchant_id(staff), changes)
    return await views.merchant_out(_merchant_id(staff), reveal=_is_owner(staff))


@router.post(
    "/application/submit",
    response_model=MerchantOut,
    tags=[APP_TAG],
    summary="Submit the application for review (owner)",
    responses=problem_responses(
        (409, "merchant.invalid_transition", "only a draft or rejected application can be submitted"),
        (422, "merchant.incomplete", "required fields are missing (named in `errors`)"),
    ),
)
async def submit_application(owner: Principal = Depends(owner_only)) -> MerchantOut:
    """Draft or rejected → submitted."""
    await onboarding.submit(owner, _merchant_id(owner))
    return await views.merchant_out(_merchant_id(owner), reveal=True)


@router.put(
    "/application/licence",
    response_model=MerchantOut,
    tags=[APP_TAG],
    summary="Upload the business licence image (owner)",
    responses=problem_responses(
        (409, "merchant.change_pending", "a legal-field change already waits for review"),
        (422, "upload.too_large", "the image is larger than 5 MB"),
        (422, "upload.unsupported_type", "not a PNG or JPEG image"),
    ),
)
async def upload_licence(
    licence: UploadFile = File(description="PNG or JPEG, at most 5 MB"),
    owner: Principal = Depends(owner_only),
) -> MerchantOut:
    """Store the licence image; for an active merchant the new licence goes through review."""
    data = await licence.read(LICENCE_LIMIT + 1)
    suffix, _ = storage.image_kind("licence", data)
    key = await storage.storage().put(f"licences/{_merchant_id(owner)}", suffix, data)
    await onboarding.update_application(owner, _merchant_id(owner), {"licence_key": key})
    return await views.merchant_out(_merchant_id(owner), reveal=True)


@router.get(
    "/application/licence",
    tags=[APP_TAG],
    summary="The current business licence image",
    response_class=Response,
    responses=image_responses("image/png", "image/jpeg")
    | problem_responses((404, "merchant.licence_missing", "no licence uploaded yet")),
)
async def get_licence(staff: Principal = Depends(owner_or_manager)) -> Response:
    """The licence image in force."""
    merchant = await repository.get_merchant(_merchant_id(staff))
    return await onboarding.licence_response(merchant)


# -- stores and QR codes ---------------------------------------------------------------------------


@router.get("/stores", response_model=list[StoreOut], tags=[STORE_TAG], summary="My stores")
async def list_stores(staff: Principal = Depends(current_staff)) -> list[StoreOut]:
    """The merchant's stores."""
    return [views.store_out(s) for s in await repository.stores_of(_merchant_id(staff))]


@router.get(
    "/stores/{store_id}",
    response_model=StoreOut,
    tags=[STORE_TAG],
    summary="One store",
    responses=problem_responses((404, "store.not_found", "no such store at your merchant")),
)
async def get_store(store_id: Id, staff: Principal = Depends(current_staff)) -> StoreOut:
    """A store of the caller's merchant."""
    return views.store_out(await repository.get_store(_merchant_id(staff), store_id))


_QR_ERRORS = problem_responses(
    (404, "store.not_found", "no such store at your merchant"),
    (409, "store.qr_not_issued", "the code is issued when the merchant is approved"),
)


@router.get(
    "/stores/{store_id}/qr",
    response_model=QrOut,
    tags=[STORE_TAG],
    summary="Store QR payload",
    responses=_QR_ERRORS,
)
async def get_qr(store_id: Id, staff: Principal = Depends(current_staff)) -> QrOut:
    """The signed payload the store's current QR code encodes."""
    store = await repository.get_store(_merchant_id(staff), store_id)
    return QrOut(store_id=store.id, version=store.qr_version, payload=qr.payload_for(store))


@router.get(
    "/stores/{store_id}/qr.png",
    tags=[STORE_TAG],
    summary="Store QR code as PNG",
    response_class=Response,
    responses=image_responses("image/png") | _QR_ERRORS,
)
async def get_qr_png(store_id: Id, staff: Principal = Depends(current_staff)) -> Response:
    """The store's current QR code, to print at the till."""
    store = await repository.get_store(_merchant_id(staff), store_id)
    return Response(
        qr.png(qr.payload_for(store)), media_type="image/png", headers={"Cache-Control": "no-store"}
    )


@router.get(
    "/stores/{store_id}/qr.svg",
    tags=[STORE_TAG],
    summary="Store QR code as SVG",
    response_class=Response,
    responses=image_responses("image/svg+xml") | _QR_ERRORS,
)
async def get_qr_svg(store_id: Id, staff: Principal = Depends(current_staff)) -> Response:
    """The store's current QR code as a vector image."""
    store = await repository.get_store(_merchant_id(staff), store_id)
    return Response(
        qr.svg(qr.payload_for(store)), media_type="image/svg+xml", headers={"Cache-Control": "no-store"}
    )


@router.post(
    "/stores/{store_id}/qr/regenerate",
    response_model=QrOut,
    tags=[STORE_TAG],
    summary="Replace the store QR code (owner or manager)",
    responses=_QR_ERRORS,
)
async def regenerate_qr(store_id: Id, staff: Principal = Depends(owner_or_manager)) -> QrOut:
    """Issue a new code; the old one is rejected from now on (`store.qr_revoked`)."""
    store = await qr.regenerate(staff, _merchant_id(staff), store_id)
    return QrOut(store_id=store.id, version=store.qr_version, payload=qr.payload_for(store))
