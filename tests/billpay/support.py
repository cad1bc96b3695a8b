"""Helpers for the bill-payment tests: billers through the ops API, members, orders, fast retries."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from app.core.config import get_settings
from loyalty import ledger as loyalty_ledger
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import Voucher
from miniprogram_api.billpay.models import BillOrder, BillOrderTransition, SimBankAccount, SimBillerPayment
from tests.helpers import login_member, login_operator

_codes = itertools.count(1)
OPENING = 1_000_000  # the default simulated opening balance, fen


@contextmanager
def billpay_settings(**values: Any) -> Iterator[None]:
    """Override bill-payment settings for the duration of a test (restored afterwards)."""
    settings = get_settings()
    saved = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)


@pytest.fixture(autouse=True)
def quick_billpay_jobs() -> Iterator[None]:
    """Payment checks due at once and retries without backoff, so burst workers never wait on a deferral
    (import this fixture into each bill-payment test module)."""
    with billpay_settings(billpay_payment_check_delay=0, billpay_confirm_backoff=0.0):
        yield


async def make_biller(
    client: httpx.AsyncClient, ops: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    """Configure a simulated biller through the ops API (electricity by default)."""
    ops = ops or await login_operator(client)
    body = {
        "code": f"sim-{next(_codes)}",
        "type": "electricity",
        "name": "国网上海电力",
        "region": "上海市",
        "adapter": "simulated",
        "adapter_config": {},
    } | fields
    response = await client.post("/ops/v1/billpay/billers", json=body, headers=ops)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def member(client: httpx.AsyncClient, name: str | None = None) -> tuple[dict[str, str], int]:
    """A logged-in member: auth header and member id."""
    headers = await login_member(client, name)
    me = await client.get("/mp/v1/me", headers=headers)
    return headers, int(me.json()["id"])


async def amount_due(
    client: httpx.AsyncClient, headers: dict[str, str], biller_id: int, account_no: str
) -> int:
    """What the biller says is due."""
    response = await client.post(
        "/mp/v1/bills/lookup", json={"biller_id": biller_id, "account_no": account_no}, headers=headers
    )
    assert response.status_code == 200, response.text
    return int(response.json()["amount_due"])


async def create_order(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    biller_id: int,
    account_no: str,
    amount: int | None = None,
    key: str | None = None,
    voucher_id: int | None = None,
) -> httpx.Response:
    """POST /bills/orders for the amount due (or the given amount), optionally with a voucher."""
    if amount is None:
        amount = await amount_due(client, headers, biller_id, account_no)
    extra = {"Idempotency-Key": key} if key else {}
    body: dict[str, Any] = {"biller_id": biller_id, "account_no": account_no, "amount": amount}
    if voucher_id is not None:
        body["voucher_id"] = voucher_id
    return await client.post("/mp/v1/bills/orders", json=body, headers=headers | extra)


async def open_order(
    client: httpx.AsyncClient, headers: dict[str, str], biller_id: int, account_no: str, **kw: Any
) -> dict[str, Any]:
    """A created order."""
    response = await create_order(client, headers, biller_id, account_no, **kw)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def pay(
    client: httpx.AsyncClient, headers: dict[str, str], order_id: int, key: str | None = None
) -> httpx.Response:
    """POST /bills/orders/{id}/pay."""
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post(f"/mp/v1/bills/orders/{order_id}/pay", headers=headers | extra)


async def paid_order(
    client: httpx.AsyncClient, headers: dict[str, str], biller_id: int, account_no: str, **kw: Any
) -> dict[str, Any]:
    """A created and paid order (not yet confirmed: no job has run)."""
    order = await open_order(client, headers, biller_id, account_no, **kw)
    response = await pay(client, headers, order["id"])
    assert response.status_code == 200, response.text
    return dict(response.json())


async def balance(member_id: int) -> int:
    """The member's simulated bank balance (the opening balance if the account was never used)."""
    row = await SimBankAccount.get_or_none(member_id=member_id)
    return OPENING if row is None else int(row.balance)


async def history(order_id: int) -> list[str]:
    """The states an order went through, in order."""
    rows = await BillOrderTransition.filter(order_id=order_id).order_by("id")
    return [r.to_state for r in rows]


async def biller_payments(order_ref: str) -> list[SimBillerPayment]:
    """What the simulated biller recorded for an order."""
    return await SimBillerPayment.filter(order_ref=order_ref)


async def state_of(order_id: int) -> str:
    """An order's current state."""
    return (await BillOrder.get(id=order_id)).state.value


async def bill_voucher(
    client: httpx.AsyncClient, member_id: int, *, face_value_fen: int = 1_000, min_spend_fen: int = 0
) -> int:
    """A bill-payment cash voucher ops created and published, issued to the member (its id)."""
    ops = await login_operator(client, "campaign_manager")
    body = {
        "name": f"缴费立减 {face_value_fen} 分",
        "kind": "cash",
        "face_value_fen": face_value_fen,
        "min_spend_fen": min_spend_fen,
        "eligibility": "bill_payment",
        "valid_days": 30,
        "stock_total": 100,
        "per_member_limit": 5,
        "price_points": 0,
    }
    created = await client.post("/ops/v1/benefits", json=body, headers=ops)
    assert created.status_code == 201, created.text
    benefit_id = int(created.json()["id"])
    published = await client.post(f"/ops/v1/benefits/{benefit_id}/lifecycle/publish", headers=ops)
    assert published.status_code == 200, published.text
    issued = await loyalty_vouchers.issue_vouchers(
        benefit_id, [loyalty_vouchers.VoucherGrant(member_id, f"test:{benefit_id}")]
    )
    assert issued[0].voucher_id is not None
    return issued[0].voucher_id


async def voucher_status(voucher_id: int) -> str:
    """A loyalty voucher's status (active, used, expired)."""
    return str((await Voucher.get(id=voucher_id)).status)


async def points(member_id: int) -> int:
    """The member's loyalty points balance."""
    return await loyalty_ledger.points_balance(member_id)
