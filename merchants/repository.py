"""Merchant queries, always scoped to the caller's merchant."""

from __future__ import annotations

from app.crypto import lookup_hash
from merchants.errors import MerchantNotFound, StaffNotFound
from merchants.models import Merchant, Staff


async def get_merchant(merchant_id: int) -> Merchant:
    """The caller's own merchant."""
    merchant = await Merchant.get_or_none(id=merchant_id)
    if merchant is None:
        raise MerchantNotFound("merchant not found")
    return merchant


def staff_of(merchant_id: int):  # type: ignore[no-untyped-def]
    """All staff rows of one merchant."""
    return Staff.filter(merchant_id=merchant_id)


async def get_staff(merchant_id: int, staff_id: int) -> Staff:
    """A staff member of this merchant (404 for any other merchant's staff, so ids do not leak)."""
    staff = await Staff.get_or_none(id=staff_id, merchant_id=merchant_id)
    if staff is None:
        raise StaffNotFound("staff member not found")
    return staff


async def find_staff_by_phone(phone: str) -> Staff | None:
    """The staff account for a login phone."""
    return await Staff.get_or_none(phone_hash=lookup_hash(phone))
