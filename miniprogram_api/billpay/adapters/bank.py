"""The payment-provider interface bill payment uses: the bank core's, which lives in `app.core.bank` so that
other domains (priced flash sales) share it. Re-exported here for bill payment's modules."""

from app.core.bank.interface import (
    BankAccountView,
    BankUnavailable,
    DebitState,
    DebitStatus,
    InsufficientFunds,
    PaymentProvider,
    PaymentReversed,
)

__all__ = [
    "BankAccountView",
    "BankUnavailable",
    "DebitState",
    "DebitStatus",
    "InsufficientFunds",
    "PaymentProvider",
    "PaymentReversed",
]
