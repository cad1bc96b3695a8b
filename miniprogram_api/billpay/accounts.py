"""Saved household accounts (numbers encrypted, shown masked) and their monthly reminders."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from app.core.crypto import decrypt, encrypt, lookup_hash
from miniprogram_api.billpay import reminders, repository
from miniprogram_api.billpay.bills import bill_lookup, bill_out, biller_brief, mask_for
from miniprogram_api.billpay.errors import HouseholdAccountExists, ReminderNotFound, TooManyHouseholdAccounts
from miniprogram_api.billpay.models import HouseholdAccount, ReminderSubscription
from miniprogram_api.billpay.schemas import BillOut, HouseholdAccountIn, HouseholdAccountOut

MAX_HOUSEHOLD_ACCOUNTS = 20


async def saved_account_bill(member_id: int, account_id: int) -> BillOut:
    """The amount due on one of the member's saved accounts."""
    account = await repository.household_account(member_id, account_id)
    biller = await repository.active_biller(account.biller_id)
    return bill_out(biller, await bill_lookup(biller, decrypt(account.account_enc)))


def account_out(account: HouseholdAccount, reminder_day: int | None) -> HouseholdAccountOut:
    """A saved account as its member sees it."""
    return HouseholdAccountOut(
        id=account.id,
        biller=biller_brief(account.biller),
        account_mask=account.account_mask,
        nickname=account.nickname,
        reminder_day=reminder_day,
        created_at=account.created_at,
    )


async def list_accounts(member_id: int) -> list[HouseholdAccountOut]:
    """The member's saved accounts with their reminder days."""
    accounts = await repository.household_accounts(member_id)
    days = await repository.reminder_days([a.id for a in accounts])
    return [account_out(a, days.get(a.id)) for a in accounts]


async def save_account(member_id: int, body: HouseholdAccountIn) -> HouseholdAccountOut:
    """Save an account after the biller confirmed it exists."""
    biller = await repository.active_biller(body.biller_id)
    await bill_lookup(biller, body.account_no)
    if await HouseholdAccount.filter(member_id=member_id).count() >= MAX_HOUSEHOLD_ACCOUNTS:
        raise TooManyHouseholdAccounts(f"at most {MAX_HOUSEHOLD_ACCOUNTS} saved accounts")
    try:
        account = await HouseholdAccount.create(
            member_id=member_id,
            biller=biller,
            account_hash=lookup_hash(body.account_no),
            account_enc=encrypt(body.account_no),
            account_mask=mask_for(biller, body.account_no),
            nickname=body.nickname,
        )
    except IntegrityError:
        raise HouseholdAccountExists("this account is already saved") from None
    return account_out(account, None)


async def rename_account(member_id: int, account_id: int, nickname: str) -> HouseholdAccountOut:
    """Change a saved account's nickname."""
    account = await repository.household_account(member_id, account_id)
    account.nickname = nickname
    await account.save(update_fields=["nickname"])
    days = await repository.reminder_days([account.id])
    return account_out(account, days.get(account.id))


async def delete_account(member_id: int, account_id: int) -> None:
    """Forget a saved account and its reminder (its orders keep their masked number)."""
    account = await repository.household_account(member_id, account_id)
    await account.delete()


async def set_reminder(member_id: int, account_id: int, day_of_month: int) -> ReminderSubscription:
    """Subscribe a saved account to a monthly reminder, or move its day."""
    account = await repository.household_account(member_id, account_id)
    return await reminders.subscribe(member_id, account.id, day_of_month)


async def delete_reminder(member_id: int, account_id: int) -> None:
    """Stop a saved account's reminder."""
    account = await repository.household_account(member_id, account_id)
    if not await ReminderSubscription.filter(household_account_id=account.id).delete():
        raise ReminderNotFound("this account has no reminder")
