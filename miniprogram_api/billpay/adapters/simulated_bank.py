"""The simulated bank core: one current account per member, opened on first use with a configurable
balance, and one row per payment reference whose conditional updates make debit and refund idempotent."""

from __future__ import annotations

import secrets

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.core.config import get_settings
from app.core.crypto import mask_account
from app.core.timeutil import utcnow
from miniprogram_api.billpay.adapters.bank import (
    BankAccountView,
    DebitState,
    DebitStatus,
    InsufficientFunds,
    PaymentReversed,
)
from miniprogram_api.billpay.models import SimBankAccount, SimBankPayment

ACCOUNT_PREFIX = "6217"


def _txn_no(kind: str) -> str:
    return f"{kind}{utcnow():%Y%m%d}{secrets.token_hex(8).upper()}"


def _status(row: SimBankPayment | None) -> DebitStatus:
    if row is None:
        return DebitStatus(DebitState.NONE)
    return DebitStatus(DebitState(row.status), row.amount, row.txn_no, row.refund_txn_no)


class SimulatedBank:
    """A PaymentProvider whose ledger lives in the `billpay_sim_bank_*` tables."""

    async def account(self, member_id: int) -> BankAccountView:
        """The member's account, opened with the configured balance on first use."""
        row = await self._open(member_id)
        return BankAccountView(account_mask=mask_account(row.account_no) or "", balance=row.balance)

    async def debit(self, member_id: int, reference: str, amount: int) -> DebitStatus:
        """Take the amount once per reference; a repeat returns the first debit."""
        account = await self._open(member_id)
        for _ in range(2):
            existing = await SimBankPayment.get_or_none(reference=reference)
            if existing is not None:
                if existing.status == DebitState.REVERSED:
                    raise PaymentReversed(reference)
                return _status(existing)
            try:
                async with in_transaction("default"):
                    row = await SimBankPayment.create(
                        reference=reference,
                        account_id=account.id,
                        amount=amount,
                        status=DebitState.DEBITED.value,
                        txn_no=_txn_no("D"),
                    )
                    taken = await SimBankAccount.filter(id=account.id, balance__gte=amount).update(
                        balance=F("balance") - amount
                    )
                    if not taken:
                        raise InsufficientFunds(reference)
                return _status(row)
            except IntegrityError:  # a concurrent debit or reversal of the same reference won
                continue
        raise RuntimeError(f"reference {reference} neither debited nor readable")

    async def refund(self, reference: str) -> DebitStatus:
        """Give the debit back once; reverse the reference when nothing was debited."""
        for _ in range(3):
            async with in_transaction("default"):
                refunded = await SimBankPayment.filter(
                    reference=reference, status=DebitState.DEBITED.value
                ).update(status=DebitState.REFUNDED.value, refund_txn_no=_txn_no("F"), refunded_at=utcnow())
                row = await SimBankPayment.get_or_none(reference=reference)
                if refunded and row is not None and row.account_id is not None:
                    await SimBankAccount.filter(id=row.account_id).update(balance=F("balance") + row.amount)
            if row is not None and row.status != DebitState.DEBITED:
                return _status(row)
            if row is None:
                try:
                    row = await SimBankPayment.create(
                        reference=reference, amount=0, status=DebitState.REVERSED.value
                    )
                    return _status(row)
                except IntegrityError:
                    pass
            # a debit committed between our update and our read: refund it on the next pass
        raise RuntimeError(f"reference {reference} neither refunded nor reversed")

    async def status(self, reference: str) -> DebitStatus:
        """The bank's record of the reference."""
        return _status(await SimBankPayment.get_or_none(reference=reference))

    async def _open(self, member_id: int) -> SimBankAccount:
        row = await SimBankAccount.get_or_none(member_id=member_id)
        if row is not None:
            return row
        try:
            return await SimBankAccount.create(
                member_id=member_id,
                account_no=f"{ACCOUNT_PREFIX}{member_id:015d}",
                balance=get_settings().billpay_sim_opening_balance,
            )
        except IntegrityError:
            return await SimBankAccount.get(member_id=member_id)
