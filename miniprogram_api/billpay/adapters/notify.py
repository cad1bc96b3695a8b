"""The notification interface of bill payment (reminders, receipts, refunds): Linli's messages, which put
each one in the member's inbox and reach WeChat or SMS as the settings choose per kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from loyalty import messages
from loyalty.models import MessageKind


@dataclass(frozen=True)
class Notification:
    """A message to one member: its kind, its template's variables, and the event it is about (sent once)."""

    member_id: int
    kind: MessageKind
    dedupe_key: str
    variables: Mapping[str, object] = field(default_factory=dict)


class Notifier(Protocol):
    """Where bill payment's notifications go."""

    async def send(self, notification: Notification) -> None:
        """Deliver one notification."""
        ...


class MessagesNotifier:
    """Linli's messages (`loyalty.messages`): consent, opt-outs, caps and channels apply."""

    async def send(self, notification: Notification) -> None:
        """Send the notification as a message of its kind, once per `dedupe_key`."""
        await messages.send(
            notification.member_id, notification.kind, notification.variables, notification.dedupe_key
        )
