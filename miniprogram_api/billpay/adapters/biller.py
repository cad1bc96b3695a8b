"""The biller adapter interface: look up a bill, pay it with our order reference as the idempotency key,
query a payment, and list a day's payments for reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from miniprogram_api.billpay.models import BillerType


class BillerUnavailable(Exception):
    """The biller did not answer in time or refused the connection: the outcome is unknown, retry later."""


class BillerAccountNotFound(Exception):
    """The biller has no account with this number."""


@dataclass(frozen=True)
class BillerProfile:
    """What an adapter needs to know about a configured biller."""

    code: str
    type: BillerType
    config: dict[str, Any]


@dataclass(frozen=True)
class Bill:
    """The amount due on an account (None for prepaid top-ups, which take any listed amount)."""

    account_no: str
    holder: str | None
    amount_due: int | None
    period: str | None
    due_date: date | None


class PaymentStatus(StrEnum):
    """What the biller says about one of our payments."""

    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    PENDING = "pending"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class PaymentResult:
    """The biller's answer to a payment or a status query."""

    status: PaymentStatus
    receipt_no: str | None = None
    business_day: date | None = None
    reason_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class StatementLine:
    """One accepted payment on the biller's statement of a business day."""

    order_ref: str
    amount: int
    receipt_no: str | None
    business_day: date


class BillerAdapter(Protocol):
    """How the platform talks to one biller; every call may raise BillerUnavailable."""

    async def lookup(self, account_no: str) -> Bill:
        """The current bill of an account (raises BillerAccountNotFound)."""
        ...

    async def pay(self, order_ref: str, account_no: str, amount: int, period: str | None) -> PaymentResult:
        """Pay a bill; repeating a call with the same order reference returns the first outcome."""
        ...

    async def query(self, order_ref: str) -> PaymentResult:
        """The status of a payment made with this order reference (NOT_FOUND when none arrived)."""
        ...

    async def statement(self, day: date) -> list[StatementLine]:
        """Every payment the biller accepted on its business day `day`."""
        ...
