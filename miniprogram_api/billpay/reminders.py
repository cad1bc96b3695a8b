"""Monthly bill reminders: from 09:00 Asia/Shanghai on the chosen day, each subscription is queued once a
month; its job looks the bill up and notifies the member when something is due."""

from __future__ import annotations

import contextlib
from datetime import date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from app.core.crypto import decrypt
from app.core.db import transaction
from app.core.jobs import enqueue, job
from app.core.timeutil import BUSINESS_TZ, business_day, utcnow
from loyalty.models import MessageKind
from miniprogram_api.billpay.adapters import biller_adapter, notifier, within_deadline
from miniprogram_api.billpay.adapters.biller import BillerAccountNotFound
from miniprogram_api.billpay.adapters.notify import Notification
from miniprogram_api.billpay.models import ReminderDelivery, ReminderSubscription

SEND_FROM_HOUR = 9


def month_of(day: date) -> str:
    """`YYYY-MM`."""
    return f"{day:%Y-%m}"


def first_month_to_skip(day_of_month: int, today: date | None = None) -> str | None:
    """This month when its reminder day has passed already (the first reminder comes next month)."""
    today = today or business_day()
    return month_of(today) if today.day > day_of_month else None


async def subscribe(member_id: int, household_account_id: int, day_of_month: int) -> ReminderSubscription:
    """Create or move the monthly reminder of a saved account."""
    skip = first_month_to_skip(day_of_month)
    try:
        async with transaction():
            return await ReminderSubscription.create(
                household_account_id=household_account_id,
                member_id=member_id,
                day_of_month=day_of_month,
                last_queued_month=skip,
            )
    except IntegrityError:  # the account has a reminder: move its day
        pass
    reminder = await ReminderSubscription.get(household_account_id=household_account_id)
    reminder.day_of_month = day_of_month
    if skip and (reminder.last_queued_month or "") < skip:
        reminder.last_queued_month = skip
    await reminder.save(update_fields=["day_of_month", "last_queued_month"])
    return reminder


async def queue_due(at: datetime | None = None, batch: int = 500, most: int = 5000) -> int:
    """Queue this month's reminder of every subscription whose day has come, once per month
    (at most `most` per call: the cron comes back for the rest)."""
    now = (at or utcnow()).astimezone(BUSINESS_TZ)
    if now.hour < SEND_FROM_HOUR:
        return 0
    month = month_of(now.date())
    queued, after = 0, 0
    while queued < most:
        due = (
            await ReminderSubscription.filter(
                Q(last_queued_month__isnull=True) | Q(last_queued_month__lt=month),
                day_of_month__lte=now.day,
                id__gt=after,
            )
            .order_by("id")
            .limit(batch)
        )
        async with transaction():
            for reminder in due:
                claimed = await ReminderSubscription.filter(
                    id=reminder.id, last_queued_month=reminder.last_queued_month
                ).update(last_queued_month=month)
                if claimed:
                    await enqueue(send_reminder, reminder.id, month)
                    queued += 1
        if len(due) < batch:
            break
        after = due[-1].id
    return queued


async def _record(reminder_id: int, month: str, outcome: str, amount_due: int | None = None) -> None:
    with contextlib.suppress(IntegrityError):  # a duplicate run recorded it first
        await ReminderDelivery.create(
            subscription_id=reminder_id, month=month, outcome=outcome, amount_due=amount_due
        )


@job("billpay.send_reminder")
async def send_reminder(reminder_id: int, month: str) -> None:
    """Look up the bill of a subscribed account and remind the member when something is due."""
    reminder = await ReminderSubscription.get_or_none(id=reminder_id).prefetch_related(
        "household_account__biller"
    )
    if reminder is None or await ReminderDelivery.exists(subscription_id=reminder_id, month=month):
        return
    account = reminder.household_account
    biller = account.biller
    if not biller.is_active:
        await _record(reminder_id, month, "skipped")
        return
    try:
        bill = await within_deadline(biller_adapter(biller).lookup(decrypt(account.account_enc)))
    except BillerAccountNotFound:
        await _record(reminder_id, month, "skipped")
        return
    if bill.amount_due == 0:
        await _record(reminder_id, month, "nothing_due", 0)
        return
    due = f"¥{bill.amount_due / 100:.2f} is due" if bill.amount_due else "time to top up"
    await notifier().send(
        Notification(
            member_id=reminder.member_id,
            kind=MessageKind.BILL_REMINDER,
            dedupe_key=f"bill-reminder:{reminder_id}:{month}",
            variables={
                "account": account.nickname,
                "biller": biller.name,
                "mask": account.account_mask,
                "due": due,
            },
        )
    )
    await _record(reminder_id, month, "sent", bill.amount_due)
