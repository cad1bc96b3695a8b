"""Merchant rules: staff accounts and their login, and the views of a merchant for each audience."""

from __future__ import annotations

from app.core import audit
from app.core.auth.deps import StaffRole
from app.core.auth.passwords import hash_password, verify_password
from app.core.auth.sessions import TokenPair, open_session, revoke_principal
from app.core.auth.tokens import Audience, Principal
from app.core.crypto import decrypt, mask_phone
from app.core.db import transaction
from app.core.errors import Conflict, Unauthorized
from merchants import repository
from merchants.models import Merchant, Staff
from merchants.onboarding.applications import create_merchant
from merchants.schemas import StaffOut


def staff_out(staff: Staff) -> StaffOut:
    """The public view of a staff member (phone masked)."""
    return StaffOut(
        id=staff.id,
        name=staff.name,
        role=staff.role,
        phone=mask_phone(decrypt(staff.phone_enc)),
        is_active=staff.is_active,
        created_at=staff.created_at,
    )


async def sign_up(
    business_name: str, owner_name: str, phone: str, password: str
) -> tuple[Merchant, TokenPair]:
    """Open a draft merchant with its owner account and log the owner in."""
    password_hash = await hash_password(password)
    async with transaction():
        merchant, owner = await create_merchant(business_name, phone, owner_name, password_hash)
    tokens = await open_session(Audience.STAFF, owner.id, roles=(owner.role,), merchant_id=merchant.id)
    return merchant, tokens


async def login(phone: str, password: str) -> TokenPair:
    """Check a staff member's password and open a session scoped to their merchant."""
    staff = await repository.find_staff_by_phone(phone)
    ok = await verify_password(staff.password_hash if staff else None, password)
    if staff is None or not ok or not staff.is_active:
        raise Unauthorized("wrong phone or password", code="auth.bad_credentials")
    return await open_session(Audience.STAFF, staff.id, roles=(staff.role,), merchant_id=staff.merchant_id)


async def staff_claims(staff_id: int) -> tuple[tuple[str, ...], int | None]:
    """Current role and merchant of a staff member, for token refresh."""
    staff = await Staff.get_or_none(id=staff_id, is_active=True)
    if staff is None:
        raise Unauthorized("staff account disabled", code="auth.token_revoked")
    return (staff.role,), staff.merchant_id


async def invite_staff(owner: Principal, phone: str, name: str, role: StaffRole, password: str) -> Staff:
    """The owner adds a manager or cashier."""
    assert owner.merchant_id is not None
    password_hash = await hash_password(password)
    async with transaction():
        merchant = await repository.get_merchant(owner.merchant_id)
        staff = await repository.new_staff(merchant, phone, name, role, password_hash)
        await audit.record(
            owner, "staff.invite", "staff", staff.id, after={"role": role.value, "merchant_id": merchant.id}
        )
    return staff


async def remove_staff(owner: Principal, staff_id: int) -> None:
    """The owner removes a manager or cashier; their sessions end at once."""
    assert owner.merchant_id is not None
    async with transaction():
        staff = await repository.get_staff(owner.merchant_id, staff_id)
        if staff.role == StaffRole.OWNER.value:
            raise Conflict("the owner cannot be removed", code="staff.owner_required")
        staff.is_active = False
        await staff.save(update_fields=["is_active"])
        await audit.record(
            owner, "staff.remove", "staff", staff.id, before={"is_active": True}, after={"is_active": False}
        )
    await revoke_principal(Audience.STAFF, staff.id)
