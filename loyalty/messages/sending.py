"""Sending a message: one row per (message, member), the rules, the inbox and the outside channel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from app.core.config import get_settings
from app.core.db import transaction
from app.core.jobs import enqueue, job
from app.core.timeutil import utcnow
from loyalty.errors import MemberNotFound
from loyalty.messages import channels, rules
from loyalty.messages.templates import render
from loyalty.models import DeliveryStatus, Member, Message, MessageDelivery, MessageKind, PushStatus

CHANNELS = ("inbox", "wechat", "sms")


def channel_for(kind: MessageKind) -> str:
    """The outside channel of a kind by settings (`inbox`: the inbox alone)."""
    channel = get_settings().message_channels.get(kind.value, "inbox")
    return channel if channel in CHANNELS else "inbox"


async def message_for(kind: MessageKind, dedupe_key: str) -> Message:
    """The message of an event, created once whoever asks first."""
    existing = await Message.get_or_none(dedupe_key=dedupe_key)
    if existing is not None:
        return existing
    try:
        async with transaction():
            return await Message.create(kind=kind, dedupe_key=dedupe_key)
    except IntegrityError:  # a concurrent sender created it first
        return await Message.get(dedupe_key=dedupe_key)


async def send(
    member_id: int,
    kind: MessageKind,
    variables: Mapping[str, Any],
    dedupe_key: str,
    *,
    now: datetime | None = None,
) -> MessageDelivery:
    """Send (or suppress, recording why) a `kind` message to a member, once per `dedupe_key`.

    A template variable missing is a 422 naming it. Call inside the transaction of the event, or alone.
    """
    title, body = render(kind, variables)
    if not await Member.exists(id=member_id):
        raise MemberNotFound()
    message = await message_for(kind, dedupe_key)
    return await deliver_to(message, member_id, title, body, dict(variables), now=now)


async def deliver_to(
    message: Message,
    member_id: int,
    title: str,
    body: str,
    variables: dict[str, Any],
    *,
    now: datetime | None = None,
) -> MessageDelivery:
    """The member's delivery of `message`, decided once: a repeat returns the first one unchanged."""
    async with transaction():
        await _lock_member(member_id)
        try:
            async with transaction():
                delivery = await MessageDelivery.create(
                    message_id=message.id,
                    member_id=member_id,
                    kind=message.kind,
                    title=title,
                    body=body,
                    variables=variables,
                )
        except IntegrityError:  # sent (or suppressed) already: no duplicate
            return await MessageDelivery.get(message_id=message.id, member_id=member_id)
        await decide(delivery, now or utcnow())
    return delivery


async def _lock_member(member_id: int) -> Member | None:
    # The member's row lock serialises their deliveries, so two at once cannot both pass a cap. Taken
    # before the delivery row's foreign key (KEY SHARE) and NO KEY, so it never blocks the member's other
    # writes (postings, vouchers).
    return await Member.filter(id=member_id).select_for_update(no_key=True).first()


async def decide(delivery: MessageDelivery, now: datetime) -> None:
    """Apply the rules to a pending delivery: into the inbox (and its channel), suppressed, or waiting."""
    member = await _lock_member(delivery.member_id)
    reason = rules.NOT_MEMBER if member is None else await rules.suppression(member, delivery.kind, now)
    if reason == rules.QUIET_HOURS:
        delivery.reason = reason
        wait = int((rules.quiet_hours_end(now) - now).total_seconds()) + 1
        await delivery.save(update_fields=["reason"])
        await enqueue(deliver_pending, delivery.id, defer_seconds=wait)
        return
    if reason is not None:
        delivery.status, delivery.reason = DeliveryStatus.SUPPRESSED, reason
        await delivery.save(update_fields=["status", "reason"])
        return
    delivery.status, delivery.reason, delivery.sent_at = DeliveryStatus.SENT, None, now
    channel = channel_for(delivery.kind)
    fields = ["status", "reason", "sent_at"]
    if channel != "inbox":
        delivery.channel, delivery.push_status = channel, PushStatus.QUEUED
        fields += ["channel", "push_status"]
    await delivery.save(update_fields=fields)
    if channel != "inbox":
        await enqueue(channels.push, delivery.id)


@job("loyalty.deliver_pending_message")
async def deliver_pending(delivery_id: int, at: str | None = None) -> str | None:
    """Decide a delivery that waited for the quiet hours to end (the rules as they are now)."""
    async with transaction():
        delivery = await MessageDelivery.filter(id=delivery_id).select_for_update().first()
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return None
        await decide(delivery, datetime.fromisoformat(at) if at else utcnow())
        return delivery.status
