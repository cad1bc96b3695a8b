"""Looking up a bill at a biller: account number checks, masking, what paying it costs."""

from __future__ import annotations

import re

from app.core.crypto import mask_account, mask_phone
from app.core.errors import InvalidField
from miniprogram_api.billpay import adapters, billers, repository
from miniprogram_api.billpay.adapters.biller import Bill, BillerAccountNotFound, BillerUnavailable
from miniprogram_api.billpay.errors import AccountNotFound
from miniprogram_api.billpay.errors import BillerUnavailable as BillerUnavailableProblem
from miniprogram_api.billpay.models import Biller, BillerType
from miniprogram_api.billpay.schemas import BillerBrief, BillOut

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def mask_for(biller: Biller, account_no: str) -> str:
    """138****1234 for phone numbers, ****3456 for other account numbers."""
    masked = mask_phone(account_no) if biller.type is BillerType.PHONE_TOPUP else mask_account(account_no)
    return masked or ""


def check_account_format(biller: Biller, account_no: str) -> None:
    """422 naming `account_no` when a top-up number is not a mainland mobile number."""
    if biller.type is BillerType.PHONE_TOPUP and not _MOBILE.match(account_no):
        raise InvalidField("account_no", "phone top-up needs a mainland mobile number")


async def bill_lookup(biller: Biller, account_no: str) -> Bill:
    """The biller's bill for an account (404 `bill.account_not_found`, 503 `bill.biller_unavailable`)."""
    check_account_format(biller, account_no)
    try:
        return await adapters.within_deadline(adapters.biller_adapter(biller).lookup(account_no))
    except BillerAccountNotFound:
        raise AccountNotFound(f"{biller.name} has no account {mask_for(biller, account_no)}") from None
    except BillerUnavailable:
        raise BillerUnavailableProblem(f"{biller.name} is not answering; try again shortly") from None


def biller_brief(biller: Biller) -> BillerBrief:
    """The short view of a biller shown next to accounts and orders."""
    return BillerBrief(id=biller.id, type=biller.type, name=biller.name)


def bill_out(biller: Biller, bill: Bill) -> BillOut:
    """A looked-up bill with the cost of paying it."""
    quote = billers.quote(biller, bill.amount_due) if bill.amount_due else None
    return BillOut(
        biller=biller_brief(biller),
        account_mask=mask_for(biller, bill.account_no),
        holder=bill.holder,
        amount_due=bill.amount_due,
        period=bill.period,
        due_date=bill.due_date,
        fee=quote.fee if quote else 0,
        total=quote.total if quote else None,
        topup_amounts=billers.topup_amounts(biller),
    )


async def lookup_bill(biller_id: int, account_no: str) -> BillOut:
    """The amount due on an account at a biller."""
    biller = await repository.active_biller(biller_id)
    return bill_out(biller, await bill_lookup(biller, account_no))
