"""Store QR codes: a compact signed payload with the store id and a version, as PNG or SVG.

Regenerating bumps the version, so every older code is rejected as revoked. Other domains call
`resolve_store_code` to turn a scanned payload into the store (loyalty makes the member known there).
"""

from __future__ import annotations

import hmac
import io

import qrcode
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage
from tortoise.expressions import F

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.crypto import sign
from app.core.db import transaction
from app.core.timeutil import utcnow
from merchants import repository
from merchants.discovery.index import VISIBLE
from merchants.errors import QrInvalid, QrNotIssued, QrRevoked, StoreNotFound
from merchants.models import Merchant, Store

PREFIX = "LS1"
_SIG_CHARS = 22  # 132 bits of HMAC-SHA256 keeps the code small and unforgeable


def _signature(store_id: int, version: int) -> str:
    return sign(get_settings().qr_secret, f"store:{store_id}:{version}".encode())[:_SIG_CHARS]


def payload_for(store: Store) -> str:
    """The text a store's current QR code encodes."""
    if store.qr_version < 1:
        raise QrNotIssued("the store's QR code is issued when the merchant is approved")
    return f"{PREFIX}.{store.id}.{store.qr_version}.{_signature(store.id, store.qr_version)}"


def png(payload: str) -> bytes:
    """A PNG QR code."""
    buffer = io.BytesIO()
    qrcode.make(payload, image_factory=PyPNGImage, box_size=8, border=4).save(buffer)
    return buffer.getvalue()


def svg(payload: str) -> bytes:
    """An SVG QR code."""
    buffer = io.BytesIO()
    qrcode.make(payload, image_factory=SvgPathImage, box_size=10, border=4).save(buffer)
    return buffer.getvalue()


def _parse(payload: str) -> tuple[int, int, str]:
    parts = payload.strip().split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
        raise QrInvalid("not a store code")
    return int(parts[1]), int(parts[2]), parts[3]


async def resolve_store_code(payload: str) -> tuple[Store, Merchant]:
    """The store a scanned code stands for: forged → `store.qr_invalid`, replaced → `store.qr_revoked`."""
    store_id, version, signature = _parse(payload)
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), _signature(store_id, version).encode()):
        raise QrInvalid("the code's signature is not valid")
    store = await Store.get_or_none(id=store_id).select_related("merchant")
    if store is None:
        raise QrInvalid("the code's store does not exist")
    if version != store.qr_version:
        raise QrRevoked("this store code was replaced by a newer one")
    if store.merchant.status not in VISIBLE:
        raise StoreNotFound("the store is not open on the platform")
    return store, store.merchant


async def regenerate(actor: Principal, merchant_id: int, store_id: int) -> Store:
    """Issue a new code for a store; every older one is revoked at once."""
    async with transaction():
        await repository.get_store(merchant_id, store_id)
        bumped = await Store.filter(id=store_id, merchant_id=merchant_id, qr_version__gt=0).update(
            qr_version=F("qr_version") + 1, updated_at=utcnow()
        )
        if not bumped:
            raise QrNotIssued("the store's QR code is issued when the merchant is approved")
        store = await Store.get(id=store_id)
        await audit.record(
            actor, "store.qr_regenerate", "store", store_id, after={"qr_version": store.qr_version}
        )
    return store
