"""Extension points other domains plug into without loyalty importing them (no import cycles).

`app/wiring.py` installs every hook once per process at start-up (API and worker alike), explicitly,
never by import side effects:

- earn-multiplier providers: `async (member_id, merchant_id, at) -> Decimal`, each returning a
  multiplier ≥ 1 for a sale (1 when it does not apply). The highest one applies, so campaigns never
  stack by accident.
- sale listeners: jobs loyalty enqueues through the outbox, in the sale's transaction, with the sale id.
  They run only if the sale commits, at least once, so they must be safe to run twice.
- refund listeners: the same, enqueued in the transaction that refunds a sale, with the sale id.
- segment listeners: jobs taking a member id, enqueued in the transaction that changed the member's
  tier or tags; None when many members changed at once (a tag import, the nightly tier refresh).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.core.jobs import Job, enqueue

EarnMultiplierProvider = Callable[[int, int | None, datetime], Awaitable[Decimal]]


@dataclass(frozen=True)
class Hooks:
    """The hooks installed in this process."""

    earn_multipliers: tuple[EarnMultiplierProvider, ...] = ()
    sale_listeners: tuple[Job, ...] = ()
    refund_listeners: tuple[Job, ...] = ()
    segment_listeners: tuple[Job, ...] = ()


_installed = Hooks()


def install(
    *,
    earn_multipliers: Iterable[EarnMultiplierProvider] = (),
    sale_listeners: Iterable[Job] = (),
    refund_listeners: Iterable[Job] = (),
    segment_listeners: Iterable[Job] = (),
) -> None:
    """Replace the hooks of this process (installing twice does not register anything twice)."""
    global _installed
    _installed = Hooks(
        tuple(earn_multipliers), tuple(sale_listeners), tuple(refund_listeners), tuple(segment_listeners)
    )


def installed() -> Hooks:
    """The hooks of this process."""
    return _installed


async def segments_changed(member_id: int | None) -> None:
    """Tell the segment listeners that a member's tier or tags changed (None: many members' did)."""
    for listener in _installed.segment_listeners:
        await enqueue(listener, member_id)
