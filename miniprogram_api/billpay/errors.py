"""Bill-payment errors, each with a stable code."""

from __future__ import annotations

from app.core.errors import Conflict, NotFound, ProblemError, ServiceUnavailable


class BillerNotFound(NotFound):
    """No such biller, or it is not offered to members."""

    code = "bill.biller_not_found"


class AccountNotFound(NotFound):
    """The biller has no account with this number."""

    code = "bill.account_not_found"


class HouseholdAccountNotFound(NotFound):
    """No such saved account of the caller."""

    code = "bill.household_account_not_found"


class OrderNotFound(NotFound):
    """No such bill order of the caller."""

    code = "bill.order_not_found"


class ReminderNotFound(NotFound):
    """The saved account has no reminder."""

    code = "bill.reminder_not_found"


class ReconciliationNotFound(NotFound):
    """No such reconciliation run or mismatch."""

    code = "bill.reconciliation_not_found"


class AmountMismatch(Conflict):
    """The amount differs from what the biller says is due."""

    code = "bill.amount_mismatch"


class NothingDue(Conflict):
    """The bill is already paid."""

    code = "bill.nothing_due"


class PaymentInProgress(Conflict):
    """A payment of this bill is already being confirmed."""

    code = "bill.payment_in_progress"


class OrderExpired(Conflict):
    """The unpaid order expired and was cancelled."""

    code = "bill.order_expired"


class OrderNotPayable(Conflict):
    """The order was cancelled."""

    code = "bill.order_not_payable"


class OrderNotCancellable(Conflict):
    """Payment of the order has started."""

    code = "bill.order_not_cancellable"


class InsufficientFunds(ProblemError):
    """The member's bank account cannot cover the order."""

    status, code, title = 402, "bill.insufficient_funds", "Insufficient funds"


class HouseholdAccountExists(Conflict):
    """This account is already saved."""

    code = "bill.account_exists"


class TooManyHouseholdAccounts(Conflict):
    """The member saved the maximum number of accounts."""

    code = "bill.too_many_accounts"


class BillerCodeTaken(Conflict):
    """Another biller uses this code."""

    code = "bill.biller_code_taken"


class MismatchAlreadyResolved(Conflict):
    """The mismatch was resolved before."""

    code = "bill.mismatch_resolved"


class OrderNotReversible(Conflict):
    """Only a succeeded order can be reversed."""

    code = "bill.order_not_reversible"


class PaidAtBiller(Conflict):
    """The biller has the payment: refunding it here would pay the bill twice over."""

    code = "bill.paid_at_biller"


class BillerUnavailable(ServiceUnavailable):
    """The biller did not answer; try again shortly."""

    code = "bill.biller_unavailable"


class BankUnavailable(ServiceUnavailable):
    """The bank core did not answer; the payment's outcome is settled automatically."""

    code = "bill.bank_unavailable"
