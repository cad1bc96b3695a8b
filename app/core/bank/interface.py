"""The payment-provider interface: the member's bank account, debits and refunds, all idempotent by our
order reference. A refund of a debit that never happened reverses it: a later debit with that reference
is refused, so a debit stuck in flight can never land after we gave up on it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class InsufficientFunds(Exception):
    """The member's account cannot cover the debit."""


class PaymentReversed(Exception):
    """This reference was reversed before any debit: it can never be debited."""


class BankUnavailable(Exception):
    """The bank core did not answer: the outcome is unknown, retry or ask for the status."""


class DebitState(StrEnum):
    """What the bank knows about a reference."""

    NONE = "none"
    DEBITED = "debited"
    REFUNDED = "refunded"
    REVERSED = "reversed"


@dataclass(frozen=True)
class BankAccountView:
    """The member's account as the mini-program shows it."""

    account_mask: str
    balance: int


@dataclass(frozen=True)
class DebitStatus:
    """The bank's record of one reference."""

    state: DebitState
    amount: int = 0
    txn_no: str | None = None
    refund_txn_no: str | None = None


class PaymentProvider(Protocol):
    """The bank core as the platform uses it."""

    async def account(self, member_id: int) -> BankAccountView:
        """The member's account (masked) and its balance in fen."""
        ...

    async def debit(self, member_id: int, reference: str, amount: int) -> DebitStatus:
        """Take `amount` once per reference (raises InsufficientFunds, PaymentReversed, BankUnavailable)."""
        ...

    async def refund(self, reference: str) -> DebitStatus:
        """Give a debit back once, or reverse the reference when no debit happened."""
        ...

    async def status(self, reference: str) -> DebitStatus:
        """What happened to this reference."""
        ...
