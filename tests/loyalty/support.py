"""Helpers for the loyalty tests: active merchants, joined members, member codes, the ledger check."""

from __future__ import annotations

import time

import httpx

from app.core.config import get_settings
from app.core.crypto import sign
from loyalty.ledger.check import run_checks
from merchants.models import Merchant, MerchantStatus
from tests.helpers import login_member, signup_merchant


async def active_merchant(
    client: httpx.AsyncClient, name: str = "Corner Coffee", *, category: str | None = None
) -> tuple[dict[str, str], int]:
    """A merchant that onboarding made active (its owner's auth header and its id), of a category."""
    headers, _ = await signup_merchant(client, name)
    if category is not None:
        edited = await client.patch("/merchant/v1/application", json={"category": category}, headers=headers)
        assert edited.status_code == 200, edited.text
    me = await client.get("/merchant/v1/me", headers=headers)
    merchant_id = int(me.json()["merchant_id"])
    # Onboarding (review and approval) belongs to the merchants domain; here the merchant is simply active.
    await Merchant.filter(id=merchant_id).update(status=MerchantStatus.ACTIVE)
    return headers, merchant_id


async def joined_member(
    client: httpx.AsyncClient, name: str | None = None, *, share_profile: bool = True
) -> tuple[dict[str, str], int]:
    """A member who logged in and joined the alliance (auth header and member id)."""
    headers = await login_member(client, name)
    response = await client.post("/mp/v1/me/join", json={"share_profile": share_profile}, headers=headers)
    assert response.status_code == 200, response.text
    return headers, int(response.json()["id"])


async def member_code(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """A fresh member code from the mini-program."""
    response = await client.post("/mp/v1/me/code", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


def signed(body: str) -> str:
    """Sign a QR body with the platform's key (to build codes with chosen fields, e.g. already expired)."""
    return f"{body}.{sign(get_settings().qr_secret, body.encode())}"


def expired_member_code(member_id: int) -> str:
    """A correctly signed member code that expired a minute ago."""
    return signed(f"LM1.{member_id}.{int(time.time()) - 60}.abcdefghijkl")


async def sale(
    client: httpx.AsyncClient,
    merchant: dict[str, str],
    member: dict[str, str],
    amount_fen: int,
    *,
    receipt_no: str | None = None,
) -> httpx.Response:
    """Record a sale at the till for the member (a fresh code each time)."""
    body: dict[str, object] = {"member_code": await member_code(client, member), "amount_fen": amount_fen}
    if receipt_no:
        body["receipt_no"] = receipt_no
    return await client.post("/merchant/v1/sales", json=body, headers=merchant)


async def balance(client: httpx.AsyncClient, member: dict[str, str]) -> int:
    """The member's balance as the mini-program shows it."""
    response = await client.get("/mp/v1/points", headers=member)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


async def assert_ledger_sound() -> None:
    """`linli ledger check` finds nothing broken."""
    breaks = await run_checks()
    assert breaks == [], breaks
