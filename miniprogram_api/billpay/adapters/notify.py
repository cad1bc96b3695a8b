"""The notification interface for members (reminders, receipts, refunds) and its development channel,
which writes each message to the log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("linli.notify")


@dataclass(frozen=True)
class Notification:
    """A message to one member; channels drop a repeated `dedupe_key`."""

    member_id: int
    kind: str
    title: str
    body: str
    dedupe_key: str


class Notifier(Protocol):
    """A delivery channel (mini-program subscription message, SMS …)."""

    async def send(self, notification: Notification) -> None:
        """Deliver one notification."""
        ...


class LogNotifier:
    """Development channel: one log line per notification."""

    async def send(self, notification: Notification) -> None:
        """Log the notification instead of delivering it."""
        log.info(
            "notification %s to member %s: %s",
            notification.kind,
            notification.member_id,
            notification.title,
            extra={
                "member_id": notification.member_id,
                "kind": notification.kind,
                "title": notification.title,
                "body": notification.body,
                "dedupe_key": notification.dedupe_key,
            },
        )
