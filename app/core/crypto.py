"""Personal data at rest: AES-GCM encryption, keyed lookup hashes, HMAC signatures, masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.config import get_settings

_NONCE = 12


def _key() -> bytes:
    return get_settings().data_key_bytes


def encrypt(plaintext: str) -> str:
    """Encrypt a short personal value; the result is URL-safe text."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key()).encrypt(nonce, plaintext.encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    """Decrypt a value produced by `encrypt`."""
    raw = base64.urlsafe_b64decode(token.encode())
    return AESGCM(_key()).decrypt(raw[:_NONCE], raw[_NONCE:], None).decode()


def lookup_hash(value: str) -> str:
    """A keyed hash for finding rows by a personal value without storing it in clear."""
    key = hmac.new(_key(), b"linli-lookup", hashlib.sha256).digest()
    return hmac.new(key, value.strip().encode(), hashlib.sha256).hexdigest()


def sign(secret: str, message: bytes) -> str:
    """A URL-safe HMAC-SHA256 signature."""
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(secret: str, message: bytes, signature: str) -> bool:
    """Constant-time check of a `sign` signature (False for any text that is not one, non-ASCII too)."""
    # compare_digest refuses str with non-ASCII characters (TypeError): compare bytes.
    return hmac.compare_digest(sign(secret, message).encode(), signature.encode("utf-8", "replace"))


def mask_phone(phone: str | None) -> str | None:
    """138****1234."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_account(account: str | None) -> str | None:
    """****1234."""
    if not account:
        return account
    return "****" + account[-4:]


def mask_name(name: str | None) -> str | None:
    """张* / 王*明 — keep the first character (and last when long enough)."""
    if not name:
        return name
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
