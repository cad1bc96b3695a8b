"""The member's inbox (every sent message, whatever the channel) and their message preferences."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.timeutil import utcnow
from loyalty.errors import MessageNotFound
from loyalty.messages.templates import optional_kinds
from loyalty.models import DeliveryStatus, MessageDelivery, MessageKind, MessageOptOut


def messages_of(member_id: int) -> QuerySet[MessageDelivery]:
    """The member's sent messages (for pagination, newest first)."""
    return MessageDelivery.filter(member_id=member_id, status=DeliveryStatus.SENT)


async def unread_count(member_id: int) -> int:
    """How many of the member's messages are unread."""
    return await messages_of(member_id).filter(read_at__isnull=True).count()


async def message_of(member_id: int, delivery_id: int) -> MessageDelivery:
    """One of the member's messages (404 `message.not_found` for anyone else's)."""
    delivery = await messages_of(member_id).get_or_none(id=delivery_id)
    if delivery is None:
        raise MessageNotFound()
    return delivery


async def mark_read(member_id: int, delivery_id: int) -> MessageDelivery:
    """Mark one of the member's messages read (the first read time stays)."""
    delivery = await message_of(member_id, delivery_id)
    if delivery.read_at is None:
        await MessageDelivery.filter(id=delivery.id, read_at__isnull=True).update(read_at=utcnow())
        delivery = await message_of(member_id, delivery_id)
    return delivery


async def mark_all_read(member_id: int) -> int:
    """Mark every message of the member read; how many were unread."""
    return int(await messages_of(member_id).filter(read_at__isnull=True).update(read_at=utcnow()))


async def opted_out(member_id: int) -> set[MessageKind]:
    """The kinds the member opted out of."""
    rows = await MessageOptOut.filter(member_id=member_id).values_list("kind", flat=True)
    return {MessageKind(str(kind)) for kind in rows}


async def set_opted_out(member_id: int, kinds: Iterable[MessageKind]) -> set[MessageKind]:
    """Replace the member's opt-outs (service kinds cannot be refused); applies to messages not yet sent."""
    wanted = set(kinds)
    refused = wanted - set(optional_kinds())
    if refused:
        names = ", ".join(sorted(kind.value for kind in refused))
        raise InvalidField("opted_out", f"service messages cannot be refused: {names}")
    async with transaction():
        current = await opted_out(member_id)
        await MessageOptOut.filter(member_id=member_id, kind__in=list(current - wanted)).delete()
        for kind in wanted - current:
            with contextlib.suppress(IntegrityError):  # the same change, sent twice at once
                async with transaction():
                    await MessageOptOut.create(member_id=member_id, kind=kind)
    return wanted
