"""Onboarding: the application, its review, the merchant lifecycle and legal-field changes.

Every status change is one conditional UPDATE on the current status, so two reviewers racing on the
same application cannot both win; the loser gets 409 `merchant.invalid_transition`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.responses import Response
from tortoise.exceptions import IntegrityError

from app.core import audit
from app.core.auth.deps import StaffRole
from app.core.auth.passwords import hash_password
from app.core.auth.tokens import Principal
from app.core.crypto import encrypt
from app.core.db import on_commit, transaction
from app.core.errors import NotFound
from app.core.jobs import enqueue
from app.core.timeutil import utcnow
from merchants import repository
from merchants.discovery import index as discovery
from merchants.discovery.index import sync_store_index
from merchants.errors import (
    ApplicationIncomplete,
    ChangePending,
    CreditCodeTaken,
    InvalidTransition,
    OutsideYourGrids,
    UnderReview,
)
from merchants.grids import service as grids
from merchants.models import ChangeStatus, Merchant, MerchantChange, MerchantStatus, Staff, Store
from merchants.onboarding import storage
from merchants.repository import OpsScope

# Legal fields of an active merchant go back through review; the rest applies at once.
LEGAL_FIELDS = frozenset(
    {
        "name",
        "credit_code",
        "legal_rep_name",
        "legal_rep_phone",
        "settlement_bank",
        "settlement_account_name",
        "settlement_account",
        "licence_key",
        "store_address",
        "lat",
        "lng",
    }
)
REQUIRED_TO_SUBMIT = (
    "name",
    "credit_code",
    "category",
    "legal_rep_name",
    "legal_rep_phone",
    "settlement_bank",
    "settlement_account_name",
    "settlement_account",
    "licence_key",
    "store_address",
    "lat",
    "lng",
    "hours",
)
# How stale a merchant's last activity may get before a new scan, sale or redemption writes it again.
EDITABLE = (MerchantStatus.DRAFT, MerchantStatus.REJECTED)
SERVING = (MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED)
_MERCHANT_COLUMNS = {
    "name": "name",
    "credit_code": "credit_code",
    "category": "category",
    "legal_rep_name": "legal_rep_name",
    "settlement_bank": "settlement_bank",
    "settlement_account_name": "settlement_account_name",
    "licence_key": "licence_key",
}
_ENCRYPTED = {"legal_rep_phone": "legal_rep_phone_enc", "settlement_account": "settlement_account_enc"}
_STORE_COLUMNS = {
    "name": "name",
    "store_address": "address",
    "lat": "lat",
    "lng": "lng",
    "hours": "hours",
    "description": "description",
    "photos": "photos",
}


@contextmanager
def _unique_violations() -> Iterator[None]:
    """Turn the database's unique constraints into the problems they stand for."""
    try:
        yield
    except IntegrityError as exc:
        text = str(exc)
        if "credit_code" in text:
            raise CreditCodeTaken() from None
        if "merchants_change" in text:
            raise ChangePending("a change is already waiting for review") from None
        raise


def _stored(changes: dict[str, Any]) -> dict[str, Any]:
    """Application fields as stored: personal values encrypted."""
    out = dict(changes)
    for field, column in _ENCRYPTED.items():
        if field in out:
            out[column] = encrypt(out.pop(field))
    return out


async def _credit_code_free(merchant_id: int, code: str | None) -> None:
    if code and await Merchant.filter(credit_code=code).exclude(id=merchant_id).exists():
        raise CreditCodeTaken()


def schedule_index_sync(merchant_id: int) -> None:
    """After commit, bring the merchant's stores in the nearby index in step (the job is the backstop)."""

    async def sync() -> None:
        await discovery.sync_merchant(merchant_id)

    on_commit(sync)


async def _sync_later(merchant_id: int) -> None:
    await enqueue(sync_store_index, merchant_id)
    schedule_index_sync(merchant_id)


async def _apply(merchant: Merchant, stored: dict[str, Any], *, only_if: tuple[MerchantStatus, ...]) -> None:
    """Write stored fields to the merchant and its first store, conditional on the merchant's status."""
    now = utcnow()
    merchant_updates = {col: stored[f] for f, col in _MERCHANT_COLUMNS.items() if f in stored}
    merchant_updates |= {col: stored[col] for col in _ENCRYPTED.values() if col in stored}
    store_updates = {col: stored[f] for f, col in _STORE_COLUMNS.items() if f in stored}
    if "lat" in stored and not merchant.grid_locked:
        merchant_updates["grid_id"] = await grids.covering_grid(stored["lat"], stored["lng"])
    updated = await Merchant.filter(id=merchant.id, status__in=list(only_if)).update(
        updated_at=now, **merchant_updates
    )
    if not updated:
        current = await Merchant.get(id=merchant.id)
        raise UnderReview(f"the merchant is {current.status.value}: it cannot be edited now")
    if store_updates:
        store = (await repository.stores_of(merchant.id))[0]
        await Store.filter(id=store.id).update(updated_at=now, **store_updates)


def _snapshot(changes: dict[str, Any]) -> dict[str, Any]:
    """Changed field names for the audit log (no personal values)."""
    return {"fields": sorted(changes)}


async def create_merchant(
    name: str, owner_phone: str, owner_name: str, password_hash: str
) -> tuple[Merchant, Staff]:
    """A draft merchant, its owner account and its (empty) first store, inside the caller's transaction."""
    merchant = await Merchant.create(name=name)
    owner = await repository.new_staff(merchant, owner_phone, owner_name, StaffRole.OWNER, password_hash)
    await Store.create(merchant=merchant, name=name)
    return merchant, owner


async def update_application(actor: Principal, merchant_id: int, changes: dict[str, Any]) -> None:
    """Edit the application (draft or rejected) or the profile of a serving merchant.

    A serving merchant's legal fields become a pending change for review; cosmetic fields apply at once.
    """
    if not changes:
        return
    with _unique_violations():
        async with transaction():
            merchant = await repository.get_merchant(merchant_id)
            await _credit_code_free(merchant_id, changes.get("credit_code"))
            if merchant.status in EDITABLE:
                await _apply(merchant, _stored(changes), only_if=EDITABLE)
                await audit.record(
                    actor, "merchant.application_edit", "merchant", merchant_id, after=_snapshot(changes)
                )
                return
            if merchant.status not in SERVING:
                raise UnderReview(f"the merchant is {merchant.status.value}: it cannot be edited now")
            cosmetic = {k: v for k, v in changes.items() if k not in LEGAL_FIELDS}
            legal = {k: v for k, v in changes.items() if k in LEGAL_FIELDS}
            if legal and "lat" in legal and "store_address" not in legal:
                legal["store_address"] = (await repository.stores_of(merchant_id))[0].address
            if cosmetic:
                await _apply(merchant, _stored(cosmetic), only_if=SERVING)
                await audit.record(
                    actor, "merchant.profile_edit", "merchant", merchant_id, after=_snapshot(cosmetic)
                )
                await _sync_later(merchant_id)
            if legal:
                if await repository.pending_change(merchant_id):
                    raise ChangePending("a change is already waiting for review")
                change = await MerchantChange.create(merchant_id=merchant_id, fields_=_stored(legal))
                await audit.record(
                    actor,
                    "merchant.change_request",
                    "merchant",
                    merchant_id,
                    after={"change_id": change.id, **_snapshot(legal)},
                )


def _missing(merchant: Merchant, store: Store) -> list[str]:
    values = {
        "name": merchant.name,
        "credit_code": merchant.credit_code,
        "category": merchant.category,
        "legal_rep_name": merchant.legal_rep_name,
        "legal_rep_phone": merchant.legal_rep_phone_enc,
        "settlement_bank": merchant.settlement_bank,
        "settlement_account_name": merchant.settlement_account_name,
        "settlement_account": merchant.settlement_account_enc,
        "licence_key": merchant.licence_key,
        "store_address": store.address,
        "lat": store.lat,
        "lng": store.lng,
        "hours": store.hours,
    }
    return [f for f in REQUIRED_TO_SUBMIT if values[f] in (None, "")]


async def _move(
    actor: Principal,
    merchant_id: int,
    action: str,
    source: tuple[MerchantStatus, ...],
    target: MerchantStatus,
    reason: str = "",
    **updates: Any,
) -> None:
    """One conditional status change plus its audit entry (409 when the status is not a source)."""
    before = await Merchant.get(id=merchant_id)
    moved = await Merchant.filter(id=merchant_id, status__in=list(source)).update(
        status=target, status_reason=reason, updated_at=utcnow(), **updates
    )
    if not moved:
        current = await Merchant.get(id=merchant_id)
        raise InvalidTransition(action, current.status.value)
    was = before.status.value if before.status in source else source[0].value
    after: dict[str, Any] = {"status": target.value}
    if reason:
        after["reason"] = reason
    await audit.record(
        actor, f"merchant.{action}", "merchant", merchant_id, before={"status": was}, after=after
    )


async def submit(actor: Principal, merchant_id: int) -> None:
    """Send a draft or rejected application for review (every required field present)."""
    async with transaction():
        merchant = await repository.get_merchant(merchant_id)
        if merchant.status not in EDITABLE:
            raise InvalidTransition("submit", merchant.status.value)
        missing = _missing(merchant, (await repository.stores_of(merchant_id))[0])
        if missing:
            raise ApplicationIncomplete(missing)
        await _move(actor, merchant_id, "submit", EDITABLE, MerchantStatus.SUBMITTED, submitted_at=utcnow())


async def approve(actor: Principal, scope: OpsScope, merchant_id: int) -> None:
    """Approve a submitted application: the merchant becomes active and its store QR codes are issued."""
    async with transaction():
        await repository.merchant_for_ops(scope, merchant_id)
        now = utcnow()
        await _move(
            actor,
            merchant_id,
            "approve",
            (MerchantStatus.SUBMITTED,),
            MerchantStatus.APPROVED,
            approved_at=now,
        )
        await _move(
            actor,
            merchant_id,
            "activate",
            (MerchantStatus.APPROVED,),
            MerchantStatus.ACTIVE,
            last_activity_at=now,
        )
        await Store.filter(merchant_id=merchant_id, qr_version=0).update(qr_version=1, updated_at=now)
        await _sync_later(merchant_id)


async def reject(actor: Principal, scope: OpsScope, merchant_id: int, reason: str) -> None:
    """Send a submitted application back with a reason; the merchant fixes it and resubmits."""
    async with transaction():
        await repository.merchant_for_ops(scope, merchant_id)
        await _move(
            actor, merchant_id, "reject", (MerchantStatus.SUBMITTED,), MerchantStatus.REJECTED, reason
        )


async def suspend(actor: Principal, scope: OpsScope, merchant_id: int, reason: str) -> None:
    """Take an active merchant off the platform: its stores vanish from nearby at once."""
    async with transaction():
        await repository.merchant_for_ops(scope, merchant_id)
        await _move(actor, merchant_id, "suspend", (MerchantStatus.ACTIVE,), MerchantStatus.SUSPENDED, reason)
        await _sync_later(merchant_id)


async def reactivate(actor: Principal, scope: OpsScope, merchant_id: int, reason: str) -> None:
    """Bring a suspended merchant back."""
    async with transaction():
        await repository.merchant_for_ops(scope, merchant_id)
        await _move(
            actor, merchant_id, "reactivate", (MerchantStatus.SUSPENDED,), MerchantStatus.ACTIVE, reason
        )
        await _sync_later(merchant_id)


async def decide_change(
    actor: Principal, scope: OpsScope, merchant_id: int, change_id: int, approve: bool, reason: str = ""
) -> None:
    """Approve (apply) or reject a pending legal-field change; conditional on it still pending."""
    with _unique_violations():
        async with transaction():
            merchant = await repository.merchant_for_ops(scope, merchant_id)
            change = await repository.get_change(merchant_id, change_id)
            status = ChangeStatus.APPROVED if approve else ChangeStatus.REJECTED
            decided = await MerchantChange.filter(id=change.id, status=ChangeStatus.PENDING).update(
                status=status, reason=reason, decided_at=utcnow()
            )
            if not decided:
                raise InvalidTransition(
                    f"decide change {change_id} of", f"change already {change.status.value}"
                )
            if approve:
                await _credit_code_free(merchant_id, change.fields_.get("credit_code"))
                await _apply(merchant, change.fields_, only_if=SERVING)
                await _sync_later(merchant_id)
            await audit.record(
                actor,
                f"merchant.change_{status.value}",
                "merchant",
                merchant_id,
                after={"change_id": change.id, "reason": reason, **_snapshot(change.fields_)},
            )


async def file_for_merchant(
    actor: Principal, scope: OpsScope, owner: dict[str, str], changes: dict[str, Any]
) -> Merchant:
    """An account manager signs a merchant up on the street: owner account plus draft application."""
    password_hash = await hash_password(owner["password"])
    with _unique_violations():
        async with transaction():
            merchant, _ = await create_merchant(changes["name"], owner["phone"], owner["name"], password_hash)
            await Merchant.filter(id=merchant.id).update(filed_by_operator_id=actor.id)
            await _credit_code_free(merchant.id, changes.get("credit_code"))
            await _apply(merchant, _stored(changes), only_if=EDITABLE)
            merchant = await Merchant.get(id=merchant.id)
            if not scope.covers_grid(merchant.grid_id):
                raise OutsideYourGrids("the store lies outside your grids")
            await audit.record(actor, "merchant.file", "merchant", merchant.id, after=_snapshot(changes))
    return merchant


async def override_grid(actor: Principal, merchant_id: int, grid_id: int | None) -> None:
    """Put a merchant in a grid by hand, or (None) back to automatic assignment."""
    async with transaction():
        merchant = await repository.get_merchant(merchant_id)
        if grid_id is not None:
            await grids.get_branch(grid_id)
            target: int | None = grid_id
        else:
            store = (await repository.stores_of(merchant_id))[0]
            target = await grids.covering_grid(store.lat, store.lng) if store.lat is not None else None
        await Merchant.filter(id=merchant_id).update(
            grid_id=target, grid_locked=grid_id is not None, updated_at=utcnow()
        )
        await audit.record(
            actor,
            "merchant.grid_override",
            "merchant",
            merchant_id,
            before={"grid_id": merchant.grid_id, "grid_locked": merchant.grid_locked},
            after={"grid_id": target, "grid_locked": grid_id is not None},
        )


async def licence_response(merchant: Merchant) -> Response:
    """The merchant's licence image as an HTTP response."""
    if merchant.licence_key is None:
        raise NotFound("no licence uploaded yet", code="merchant.licence_missing")
    data = await storage.storage().get(merchant.licence_key)
    return Response(
        data, media_type=storage.media_type_of(merchant.licence_key), headers={"Cache-Control": "no-store"}
    )
