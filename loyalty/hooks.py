"""Extension points other domains plug into without loyalty importing them (no import cycles).

The campaigns plugin (`campaigns/plugin.py`, called by `app/wiring.py`) installs every hook once per
process at start-up (API and worker alike), explicitly, never by import side effects:

- earn-multiplier providers: `async (SaleContext) -> MultiplierDecision | None`, called inside the
  sale's transaction before its points are posted. A provider that decides reserves whatever backs the
  bonus (its campaign's budget) in that same transaction, so the bonus and its backing commit or roll
  back together, and returns the decision. Providers are asked in order and the first decision applies
  (the others are not asked: a campaign bonus never stacks). Loyalty records the decision on the sale
  (`multiplier_campaign_id`, `multiplier_percent`, `bonus_points`, `bonus_cost_fen`), where the sale
  listeners read it (`loyalty.till.sale_multiplier`).
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

from app.core.jobs import Job, enqueue

MIN_MULTIPLIER_PERCENT = 101
MAX_MULTIPLIER_PERCENT = 1000  # a multiplier of at most ×10


@dataclass(frozen=True)
class SaleContext:
    """A sale being recorded, as an earn-multiplier provider sees it (inside the sale's transaction)."""

    member_id: int
    merchant_id: int
    at: datetime
    amount_fen: int
    points: int  # what the sale earns without a campaign multiplier (base rate × the member's tier)
    point_value_fen: int  # what one point is worth at this merchant, fen
    bonus_for: Callable[[int], int]  # the bonus points a multiplier of `percent` adds to `points`
    # Locks the member's points account until the sale commits: one member's sales then decide one after
    # the other, so a provider that counts the member's earlier boosted sales sees all of them. Call it
    # before locking anything else (a campaign row), so that two sales never wait for each other.
    lock_member: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class MultiplierDecision:
    """What a provider decided for a sale: its campaign's multiplier and the bonus it backs."""

    campaign_id: int
    percent: int  # MIN_MULTIPLIER_PERCENT..MAX_MULTIPLIER_PERCENT, 200 doubles the points
    bonus_points: int  # must equal `SaleContext.bonus_for(percent)`, at least 1
    cost_fen: int  # what the provider reserved for the bonus (its campaign's budget)


EarnMultiplierProvider = Callable[[SaleContext], Awaitable[MultiplierDecision | None]]


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
