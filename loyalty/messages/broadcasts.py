"""Broadcasts: ops write a promotional message for a segment, a second operator approves it, and it goes
out in batches of jobs through the outbox, resumable (one delivery per member), with its figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.cron import CronJob, cron
from tortoise.expressions import Subquery
from tortoise.functions import Count

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.db import transaction
from app.core.jobs import Job, enqueue, job
from app.core.timeutil import utcnow
from loyalty.errors import BroadcastFourEyes, BroadcastNotDraft, BroadcastNotFound
from loyalty.messages import sending
from loyalty.messages.templates import render
from loyalty.models import (
    Broadcast,
    BroadcastStatus,
    DeliveryStatus,
    Member,
    MemberTag,
    Message,
    MessageDelivery,
    MessageKind,
    MessageOptOut,
    Tier,
)


def segment(tiers: Sequence[str], tags: Sequence[str]) -> Any:
    """The joined members of any of `tiers` (all when empty) holding every tag (a queryset)."""
    members = Member.filter(joined_at__isnull=False)
    if tiers:
        members = members.filter(tier__in=[Tier(t) for t in tiers])
    for tag in dict.fromkeys(tags):
        members = members.filter(id__in=Subquery(MemberTag.filter(tag=tag).values("member_id")))
    return members


async def create(
    operator: Principal, *, title: str, body: str, tiers: list[str], tags: list[str], send_at: datetime | None
) -> Broadcast:
    """A draft broadcast (the template's variables are checked: a missing one is a 422 naming it)."""
    render(MessageKind.BROADCAST, {"title": title, "body": body})
    async with transaction():
        broadcast = await Broadcast.create(
            title=title,
            body=body,
            tiers=tiers,
            tags=tags,
            send_at=send_at or utcnow(),
            created_by=operator.id,
        )
        await audit.record(operator, "broadcast.create", "broadcast", broadcast.id, after={"title": title})
    return broadcast


async def get(broadcast_id: int) -> Broadcast:
    """A broadcast (404 `broadcast.not_found`)."""
    broadcast = await Broadcast.get_or_none(id=broadcast_id)
    if broadcast is None:
        raise BroadcastNotFound()
    return broadcast


async def approve(operator: Principal, broadcast_id: int) -> Broadcast:
    """Approve a draft (by another operator than its author); sending starts at its time."""
    async with transaction():
        broadcast = await Broadcast.filter(id=broadcast_id).select_for_update().first()
        if broadcast is None:
            raise BroadcastNotFound()
        if broadcast.status != BroadcastStatus.DRAFT:
            raise BroadcastNotDraft()
        if broadcast.created_by == operator.id:
            raise BroadcastFourEyes("another operator must approve this broadcast")
        message = await sending.message_for(MessageKind.BROADCAST, f"broadcast:{broadcast.id}")
        now = utcnow()
        broadcast.status, broadcast.approved_by, broadcast.approved_at = (
            BroadcastStatus.APPROVED,
            operator.id,
            now,
        )
        broadcast.message_id = message.id
        await broadcast.save(update_fields=["status", "approved_by", "approved_at", "message_id"])
        await audit.record(operator, "broadcast.approve", "broadcast", broadcast.id)
        wait = max(0, int((broadcast.send_at - now).total_seconds()))
        await enqueue(send_batch, broadcast.id, broadcast.cursor, defer_seconds=wait)
    return broadcast


async def cancel(operator: Principal, broadcast_id: int) -> Broadcast:
    """Cancel a draft or an approved broadcast that has not started sending."""
    async with transaction():
        cancelled = await Broadcast.filter(
            id=broadcast_id, status__in=[BroadcastStatus.DRAFT, BroadcastStatus.APPROVED]
        ).update(status=BroadcastStatus.CANCELLED)
        if not cancelled:
            await get(broadcast_id)
            raise BroadcastNotDraft("only a broadcast that has not started sending can be cancelled")
        await audit.record(operator, "broadcast.cancel", "broadcast", broadcast_id)
    return await get(broadcast_id)


@job("loyalty.send_broadcast_batch")
async def send_batch(broadcast_id: int, cursor: int, at: str | None = None) -> int:
    """Send the next batch after `cursor` and ask for the one after; a repeat of a done batch does nothing.

    Each member's delivery is unique per (message, member), so a batch cut short by a crash resumes
    where it stopped and nobody gets the message twice.
    """
    now = datetime.fromisoformat(at) if at else utcnow()
    broadcast = await Broadcast.get_or_none(id=broadcast_id)
    if (
        broadcast is None
        or broadcast.message_id is None
        or broadcast.status not in (BroadcastStatus.APPROVED, BroadcastStatus.SENDING)
        or broadcast.cursor != cursor
        or broadcast.send_at > now
    ):
        return 0
    message = await Message.get(id=broadcast.message_id)
    ids = [
        int(row)
        for row in await segment(broadcast.tiers, broadcast.tags)
        .filter(id__gt=cursor)
        .order_by("id")
        .limit(get_settings().message_broadcast_batch)
        .values_list("id", flat=True)
    ]
    variables = {"title": broadcast.title, "body": broadcast.body}
    for member_id in ids:
        await sending.deliver_to(message, member_id, broadcast.title, broadcast.body, variables, now=now)
    async with transaction():
        update: dict[str, Any] = {"targeted": broadcast.targeted + len(ids)}
        if ids:
            update |= {"cursor": ids[-1], "status": BroadcastStatus.SENDING}
        else:
            update |= {"status": BroadcastStatus.SENT, "finished_at": now}
        moved = await Broadcast.filter(id=broadcast_id, cursor=cursor, status=broadcast.status).update(
            **update
        )
        if moved and ids:
            await enqueue(send_batch, broadcast_id, ids[-1])
    return len(ids)


async def resume_stalled(now: datetime | None = None) -> int:
    """Ask again for the next batch of broadcasts due or sending (a backstop: a repeat does nothing)."""
    now = now or utcnow()
    due = await Broadcast.filter(
        status__in=[BroadcastStatus.APPROVED, BroadcastStatus.SENDING], send_at__lte=now
    ).values_list("id", "cursor")
    async with transaction():
        for broadcast_id, cursor in due:
            await enqueue(send_batch, int(str(broadcast_id)), int(str(cursor)))
    return len(due)


async def _resume_cron(ctx: dict[str, Any]) -> None:
    await resume_stalled()


@dataclass(frozen=True)
class Preview:
    """How many members a broadcast's segment holds, and how many consent and opt-outs leave."""

    segment: int
    no_consent: int
    opted_out: int
    reachable: int


async def preview(broadcast_id: int) -> Preview:
    """Reach of a broadcast before caps and quiet hours (which depend on the moment each message goes)."""
    broadcast = await get(broadcast_id)
    members = segment(broadcast.tiers, broadcast.tags)
    total = await members.count()
    no_consent = await members.filter(marketing=False).count()
    opted = await members.filter(
        marketing=True,
        id__in=Subquery(MessageOptOut.filter(kind=MessageKind.BROADCAST).values("member_id")),
    ).count()
    return Preview(total, no_consent, opted, total - no_consent - opted)


async def figures(broadcast_id: int) -> dict[str, int]:
    """Delivery figures: targeted, sent, suppressed by reason, waiting, outside-channel outcomes, opened."""
    broadcast = await get(broadcast_id)
    out: dict[str, int] = {"targeted": broadcast.targeted}
    if broadcast.message_id is None:
        return out
    deliveries = MessageDelivery.filter(message_id=broadcast.message_id)
    for row in (
        await deliveries.annotate(n=Count("id")).group_by("status", "reason").values("status", "reason", "n")
    ):
        status, reason, n = str(row["status"]), row["reason"], int(row["n"])
        key = "sent" if status == DeliveryStatus.SENT else f"{status}_{reason}" if reason else status
        out[key] = out.get(key, 0) + n
    for row in (
        await deliveries.filter(push_status__isnull=False)
        .annotate(n=Count("id"))
        .group_by("channel", "push_status")
        .values("channel", "push_status", "n")
    ):
        out[f"{row['channel']}_{row['push_status']}"] = int(row["n"])
    out["opened"] = await deliveries.filter(read_at__isnull=False).count()
    return out


TASKS: list[Job] = [send_batch]
CRON_JOBS: list[CronJob] = [
    cron(_resume_cron, name="loyalty.resume_broadcasts", minute={1, 11, 21, 31, 41, 51})
]
