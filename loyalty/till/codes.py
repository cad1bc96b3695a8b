"""Short-lived signed QR payloads: the member's dynamic code and the voucher redemption token.

`LM1.<member>.<expires>.<nonce>.<signature>` and `LV1.<voucher>.<member>.<expires>.<nonce>.<signature>`:
HMAC-SHA256 under `LINLI_QR_SECRET`, the prefix separating them from each other and from store codes.
The nonce makes each code single-use wherever a unique column stores it (payments, redemptions).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from app.core.config import get_settings
from app.core.crypto import sign, verify
from app.core.errors import ProblemError
from loyalty.errors import MemberCodeExpired, MemberCodeInvalid, VoucherTokenExpired, VoucherTokenInvalid

MEMBER_PREFIX = "LM1"
VOUCHER_PREFIX = "LV1"
MAX_CODE_LENGTH = 160


@dataclass(frozen=True)
class MemberCode:
    """A verified member code."""

    member_id: int
    nonce: str
    expires_at: datetime


@dataclass(frozen=True)
class VoucherToken:
    """A verified voucher token."""

    voucher_id: int
    member_id: int
    nonce: str
    expires_at: datetime


def _issue(prefix: str, ids: tuple[int, ...], ttl: int) -> tuple[str, datetime]:
    expires = int(time.time()) + ttl
    body = ".".join([prefix, *(str(i) for i in ids), str(expires), secrets.token_urlsafe(9)])
    return f"{body}.{sign(get_settings().qr_secret, body.encode())}", datetime.fromtimestamp(expires, UTC)


def _verify(
    code: str, prefix: str, n_ids: int, invalid: type[ProblemError], expired: type[ProblemError]
) -> tuple[list[int], str, datetime]:
    parts = code.strip().split(".") if len(code) <= MAX_CODE_LENGTH else []
    if len(parts) != n_ids + 4 or parts[0] != prefix:
        raise invalid("not a code of this kind")
    body, signature = ".".join(parts[:-1]), parts[-1]
    if not verify(get_settings().qr_secret, body.encode(), signature):
        raise invalid("signature does not match")
    try:
        numbers = [int(p) for p in parts[1 : n_ids + 2]]
    except ValueError:
        raise invalid("malformed code") from None
    *ids, expires = numbers
    if expires < time.time():
        raise expired("code expired, ask for a fresh one")
    return ids, parts[-2], datetime.fromtimestamp(expires, UTC)


def issue_member_code(member_id: int) -> tuple[str, datetime]:
    """A member's dynamic QR code and when it stops working."""
    return _issue(MEMBER_PREFIX, (member_id,), get_settings().member_code_ttl)


def read_member_code(code: str) -> MemberCode:
    """Verify a scanned member code (400 forged, 410 expired)."""
    ids, nonce, expires_at = _verify(code, MEMBER_PREFIX, 1, MemberCodeInvalid, MemberCodeExpired)
    return MemberCode(member_id=ids[0], nonce=nonce, expires_at=expires_at)


def issue_voucher_token(voucher_id: int, member_id: int) -> tuple[str, datetime]:
    """A voucher's redemption token and when it stops working."""
    return _issue(VOUCHER_PREFIX, (voucher_id, member_id), get_settings().voucher_token_ttl)


def read_voucher_token(token: str) -> VoucherToken:
    """Verify a scanned voucher token (400 forged, 410 expired)."""
    ids, nonce, expires_at = _verify(token, VOUCHER_PREFIX, 2, VoucherTokenInvalid, VoucherTokenExpired)
    return VoucherToken(voucher_id=ids[0], member_id=ids[1], nonce=nonce, expires_at=expires_at)
