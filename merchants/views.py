"""Response views of merchants, stores and changes: personal values masked unless the owner asks."""

from __future__ import annotations

from typing import Any

from app.core.crypto import decrypt, mask_account, mask_phone
from merchants import repository
from merchants.models import Merchant, MerchantChange, Store
from merchants.schemas import ChangeOut, MerchantOut, StoreOut


def _reveal(value_enc: str | None, mask: Any, reveal: bool) -> str | None:
    if value_enc is None:
        return None
    value = decrypt(value_enc)
    return value if reveal else mask(value)


def store_out(store: Store) -> StoreOut:
    """A store as its merchant and ops see it."""
    return StoreOut(
        id=store.id,
        name=store.name,
        address=store.address,
        lat=store.lat,
        lng=store.lng,
        hours=store.hours,
        description=store.description,
        photos=list(store.photos),
        qr_issued=store.qr_version > 0,
        qr_version=store.qr_version,
    )


def change_out(change: MerchantChange, reveal: bool) -> ChangeOut:
    """A pending change with personal values masked (unless revealed to the owner)."""
    fields = dict(change.fields_)
    if "legal_rep_phone_enc" in fields:
        fields["legal_rep_phone"] = _reveal(fields.pop("legal_rep_phone_enc"), mask_phone, reveal)
    if "settlement_account_enc" in fields:
        fields["settlement_account"] = _reveal(fields.pop("settlement_account_enc"), mask_account, reveal)
    return ChangeOut(
        id=change.id,
        status=change.status.value,
        fields=fields,
        reason=change.reason,
        created_at=change.created_at,
        decided_at=change.decided_at,
    )


async def merchant_out(merchant_id: int, *, reveal: bool) -> MerchantOut:
    """The full merchant view; `reveal` (the owner only) shows the phone and account unmasked."""
    merchant = await Merchant.get(id=merchant_id)
    stores = await repository.stores_of(merchant_id)
    change = await repository.pending_change(merchant_id)
    return MerchantOut(
        id=merchant.id,
        name=merchant.name,
        status=merchant.status.value,
        status_reason=merchant.status_reason,
        credit_code=merchant.credit_code,
        category=merchant.category.value if merchant.category else None,
        legal_rep_name=merchant.legal_rep_name,
        legal_rep_phone=_reveal(merchant.legal_rep_phone_enc, mask_phone, reveal),
        settlement_bank=merchant.settlement_bank,
        settlement_account_name=merchant.settlement_account_name,
        settlement_account=_reveal(merchant.settlement_account_enc, mask_account, reveal),
        has_licence=merchant.licence_key is not None,
        grid_id=merchant.grid_id,
        unassigned=merchant.grid_id is None,
        grid_locked=merchant.grid_locked,
        filed_by_operator_id=merchant.filed_by_operator_id,
        submitted_at=merchant.submitted_at,
        approved_at=merchant.approved_at,
        last_activity_at=merchant.last_activity_at,
        created_at=merchant.created_at,
        stores=[store_out(s) for s in stores],
        pending_change=change_out(change, reveal) if change else None,
    )
