"""The bank core as every domain uses it: the member's account, debits and refunds idempotent by the
caller's reference, and the status of a reference (to settle a debit whose answer was lost).

The interface lives in the foundation so that bill payment and priced flash sales share one bank. The
implementation is installed by the composition root (`install_provider`, from the customer layer's
plugin: the simulated bank core in development and tests; a real core connects there).
"""

from app.core.bank.interface import (
    BankAccountView,
    BankUnavailable,
    DebitState,
    DebitStatus,
    InsufficientFunds,
    PaymentProvider,
    PaymentReversed,
)
from app.core.bank.registry import install_provider, payment_provider

__all__ = [
    "BankAccountView",
    "BankUnavailable",
    "DebitState",
    "DebitStatus",
    "InsufficientFunds",
    "PaymentProvider",
    "PaymentReversed",
    "install_provider",
    "payment_provider",
]
