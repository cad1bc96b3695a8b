"""The double-entry points ledger: journals, entries, lots, expiry and reversal.

Every posting runs in `app.core.db.transaction()` (a savepoint inside the caller's transaction) and
inserts a journal with a unique reference, so posting the same reference twice posts once: the
loser of a race gets the unique violation, its savepoint rolls back and it returns the winner's
journal. A member's account row is locked before its lots change, so spends, expiry and reversals
of one member run one after the other while different members never wait for each other. System
and merchant accounts keep no stored balance (their balance is the sum of their entries), so no
posting contends on a shared hot row.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from app.core import sql
from app.core.config import get_settings
from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.timeutil import BUSINESS_TZ, utcnow
from loyalty import hooks
from loyalty.errors import (
    JournalNotFound,
    MemberNotFound,
    NotReversible,
    PointsInsufficient,
    ReferenceConflict,
)
from loyalty.ledger import tiers
from loyalty.models import AccountKind, Entry, Journal, JournalKind, LotMove, PointsAccount, PointsLot

MAX_REFERENCE = 191


class EarnSource(StrEnum):
    """Why points were earned."""

    SALE = "sale"
    BILL_PAYMENT = "bill_payment"
    CAMPAIGN = "campaign"
    OPS_GRANT = "ops_grant"


class SpendPurpose(StrEnum):
    """What points were spent on."""

    BENEFIT = "benefit"
    LUCKY_DRAW = "lucky_draw"
    POINTS_PAYMENT = "points_payment"
    CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Posting:
    """A journal as the caller sees it; `replayed` when the reference had been posted before."""

    journal_id: int
    reference: str
    kind: JournalKind
    member_id: int | None
    points: int
    replayed: bool = False


# (account kind, account id, points): who funds an earn or receives a spend.
Counterpart = tuple[AccountKind, int, int]


def lot_expiry(earned_at: datetime) -> datetime:
    """The end of the 12th month after `earned_at`, in Asia/Shanghai months (as a UTC instant)."""
    local = earned_at.astimezone(BUSINESS_TZ)
    month_index = local.year * 12 + local.month - 1 + 13
    start_of_next = datetime(month_index // 12, month_index % 12 + 1, 1, tzinfo=BUSINESS_TZ)
    return start_of_next.astimezone(UTC)


def check_points(points: object, field: str = "points") -> int:
    """A positive whole number of points within the posting limit (422 naming the field otherwise)."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidField(field, "must be a whole number of points")
    if points <= 0:
        raise InvalidField(field, "must be positive")
    if points > get_settings().points_max_per_posting:
        raise InvalidField(field, f"at most {get_settings().points_max_per_posting} per posting")
    return points


def _check_reference(reference: str) -> str:
    if not reference or len(reference) > MAX_REFERENCE:
        raise InvalidField("reference", f"must be 1-{MAX_REFERENCE} characters")
    return reference


def _as_posting(journal: Journal, *, replayed: bool) -> Posting:
    return Posting(
        journal_id=journal.id,
        reference=journal.reference,
        kind=journal.kind,
        member_id=journal.member_id,
        points=int(journal.points),
        replayed=replayed,
    )


async def _once(
    reference: str, post: Callable[[], Awaitable[Posting]], matches: Callable[[Journal], bool]
) -> Posting:
    """Post in a savepoint; a reference posted before returns that journal instead."""
    try:
        async with transaction():
            return await post()
    except IntegrityError:
        existing = await Journal.get_or_none(reference=reference)
        if existing is None:
            raise
    if not matches(existing):
        raise ReferenceConflict(f"reference {reference!r} was already used for another posting")
    return _as_posting(existing, replayed=True)


async def _insert_journal(
    reference: str,
    kind: JournalKind,
    source: str,
    member_id: int | None,
    points: int,
    *,
    merchant_id: int | None = None,
    settlement_fen: int = 0,
    reverses_id: int | None = None,
    memo: str = "",
) -> int:
    """Insert a journal (its unique reference refuses a second posting) and return its id."""
    found = await sql.rows(
        "INSERT INTO loyalty_journal (reference, kind, source, member_id, merchant_id, points,"
        " settlement_fen, reverses_id, memo, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        reference,
        kind.value,
        str(source),
        member_id,
        merchant_id,
        points,
        settlement_fen,
        reverses_id,
        memo[:255],
        utcnow(),
    )
    return int(found[0]["id"])


async def _insert_entries(journal_id: int, entries: Sequence[Counterpart]) -> None:
    """Insert a journal's entries in one statement (zero amounts are left out)."""
    rows = [(kind.value, account_id, amount) for kind, account_id, amount in entries if amount]
    values = ", ".join(f"($1, ${3 * n + 2}, ${3 * n + 3}, ${3 * n + 4})" for n in range(len(rows)))
    await sql.execute(
        f"INSERT INTO loyalty_entry (journal_id, account_kind, account_id, amount) VALUES {values}",  # noqa: S608
        journal_id,
        *(value for row in rows for value in row),
    )


async def _lock_account(member_id: int) -> int:
    """Lock the member's account row for the rest of the transaction and return the balance."""
    account = await PointsAccount.filter(member_id=member_id).select_for_update().first()
    if account is None:
        raise MemberNotFound("member not found")
    return int(account.balance)


async def lock_account(member_id: int) -> None:
    """Lock the member's account row until the transaction ends: the member's postings (and sales, which
    lock it before deciding their multiplier) wait for it (404 `member.not_found` without an account)."""
    await _lock_account(member_id)


async def _take(member_id: int, journal_id: int, points: int, lots: Sequence[PointsLot]) -> int:
    """Take up to `points` from `lots` in order, recording each move; returns what was taken."""
    taken = 0
    moves: list[LotMove] = []
    for lot in lots:
        if taken == points:
            break
        take = min(int(lot.remaining), points - taken)
        if take <= 0:
            continue
        if not await PointsLot.filter(id=lot.id, remaining__gte=take).update(remaining=F("remaining") - take):
            raise RuntimeError(f"lot {lot.id} changed although its member's account is locked")
        lot.remaining -= take
        moves.append(LotMove(journal_id=journal_id, lot_id=lot.id, points=-take))
        taken += take
    if moves:
        await LotMove.bulk_create(moves)
    return taken


async def _open_lots(member_id: int) -> list[PointsLot]:
    return await PointsLot.filter(member_id=member_id, remaining__gt=0).order_by("expires_at", "id")


async def _retire(member_id: int, due: Sequence[PointsLot]) -> Posting | None:
    """Post an expiry journal for lots whose time is up (account row already locked)."""
    total = sum(int(lot.remaining) for lot in due)
    if total == 0:
        return None
    reference = f"expire:{member_id}:{uuid.uuid4().hex}"
    journal_id = await _insert_journal(reference, JournalKind.EXPIRE, "expiry", member_id, total)
    await _take(member_id, journal_id, total, due)
    await _debit(member_id, total)
    await _insert_entries(
        journal_id, [(AccountKind.MEMBER, member_id, -total), (AccountKind.EXPIRY, 0, total)]
    )
    return Posting(journal_id, reference, JournalKind.EXPIRE, member_id, total)


async def _debit(member_id: int, points: int) -> None:
    changed = await sql.execute(
        "UPDATE loyalty_points_account SET balance = balance - $1, updated_at = $2"
        " WHERE member_id = $3 AND balance >= $1",
        points,
        utcnow(),
        member_id,
    )
    if not changed:
        raise PointsInsufficient(f"not enough points for {points}")


async def _credit(member_id: int, points: int) -> None:
    changed = await sql.execute(
        "UPDATE loyalty_points_account SET balance = balance + $1, updated_at = $2 WHERE member_id = $3",
        points,
        utcnow(),
        member_id,
    )
    if not changed:
        raise MemberNotFound("member not found")


async def post_earn(
    member_id: int,
    points: int,
    *,
    source: str,
    reference: str,
    funding: Sequence[Counterpart],
    merchant_id: int | None = None,
    settlement_fen: int = 0,
    memo: str = "",
    at: datetime | None = None,
    savepoint: bool = True,
) -> Posting:
    """Credit a member with `points` funded by `funding` (whose points sum to `points`), as a new lot.

    `savepoint=False` skips the savepoint for a caller whose own transaction rolls back and looks the
    journal up when the reference was posted before (the unique violation then aborts its transaction).
    """
    check_points(points)
    _check_reference(reference)
    if sum(p for _, _, p in funding) != points:
        raise ValueError("funding must add up to the points earned")
    earned_at = at or utcnow()

    async def post() -> Posting:
        await _credit(member_id, points)
        journal_id = await _insert_journal(
            reference,
            JournalKind.EARN,
            source,
            member_id,
            points,
            merchant_id=merchant_id,
            settlement_fen=settlement_fen,
            memo=memo,
        )
        await _insert_entries(
            journal_id, [(AccountKind.MEMBER, member_id, points), *((k, i, -p) for k, i, p in funding)]
        )
        await sql.execute(
            "INSERT INTO loyalty_points_lot (member_id, journal_id, points, remaining, reversed_points,"
            " expires_at, created_at) VALUES ($1, $2, $3, $3, 0, $4, $5)",
            member_id,
            journal_id,
            points,
            lot_expiry(earned_at),
            utcnow(),
        )
        if await tiers.refresh(member_id):
            await hooks.segments_changed(member_id)
        return Posting(journal_id, reference, JournalKind.EARN, member_id, points)

    if not savepoint:
        return await post()
    return await _once(
        reference,
        post,
        lambda j: j.kind == JournalKind.EARN and j.member_id == member_id and j.points == points,
    )


async def post_spend(
    member_id: int,
    points: int,
    *,
    source: str,
    reference: str,
    counterpart: tuple[AccountKind, int],
    merchant_id: int | None = None,
    settlement_fen: int = 0,
    memo: str = "",
    at: datetime | None = None,
) -> Posting:
    """Debit `points` from a member, oldest lots first (409 `points.insufficient`, nothing written)."""
    check_points(points)
    _check_reference(reference)
    now = at or utcnow()

    async def post() -> Posting:
        await _lock_account(member_id)
        lots = await _open_lots(member_id)
        due = [lot for lot in lots if lot.expires_at <= now]
        if due:
            await _retire(member_id, due)
            lots = [lot for lot in lots if lot.expires_at > now]
        journal_id = await _insert_journal(
            reference,
            JournalKind.SPEND,
            source,
            member_id,
            points,
            merchant_id=merchant_id,
            settlement_fen=settlement_fen,
            memo=memo,
        )
        await _debit(member_id, points)
        taken = await _take(member_id, journal_id, points, lots)
        if taken != points:  # the balance and the lots disagree: refuse rather than post a broken ledger
            raise PointsInsufficient(f"not enough unexpired points for {points}")
        kind, account_id = counterpart
        await _insert_entries(
            journal_id, [(AccountKind.MEMBER, member_id, -points), (kind, account_id, points)]
        )
        return Posting(journal_id, reference, JournalKind.SPEND, member_id, points)

    return await _once(
        reference,
        post,
        lambda j: j.kind == JournalKind.SPEND and j.member_id == member_id and j.points == points,
    )


async def expire_member(member_id: int, at: datetime | None = None) -> Posting | None:
    """Retire a member's lots whose expiry is at or before `at` (nothing to do: None)."""
    now = at or utcnow()
    async with transaction():
        await _lock_account(member_id)
        due = await PointsLot.filter(member_id=member_id, remaining__gt=0, expires_at__lte=now).order_by(
            "expires_at", "id"
        )
        return await _retire(member_id, due)


def reversal_reference(journal_id: int) -> str:
    """The reference of the journal reversing journal `journal_id` (one reversal per journal)."""
    return f"reversal:{journal_id}"


async def reverse(reference: str, *, memo: str = "") -> Posting:
    """Reverse the journal posted under `reference` (repeating it returns the same reversal).

    Reversing an earn takes the points back from the member, from that earn's lot first, as far as
    the balance allows; what the member already spent is written off by the bank (never a negative
    balance). Reversing a spend gives the points back to the lots they came from.
    """
    original = await Journal.get_or_none(reference=reference)
    if original is None:
        raise JournalNotFound(f"no journal with reference {reference!r}")
    return await reverse_journal(original, memo=memo)


async def reverse_journal(original: Journal, *, memo: str = "") -> Posting:
    """Reverse a journal (see `reverse`)."""
    if original.kind not in (JournalKind.EARN, JournalKind.SPEND) or original.member_id is None:
        raise NotReversible(f"a {original.kind.value} journal cannot be reversed")
    member_id = original.member_id
    rev_reference = reversal_reference(original.id)

    async def post() -> Posting:
        await _lock_account(member_id)
        counterparts: list[Counterpart] = [
            (e.account_kind, int(e.account_id), -int(e.amount))
            for e in await Entry.filter(journal_id=original.id).order_by("id")
            if e.account_kind != AccountKind.MEMBER
        ]
        if original.kind == JournalKind.EARN:
            lots = await _open_lots(member_id)
            own = [lot for lot in lots if lot.journal_id == original.id]
            lots = [*own, *(lot for lot in lots if lot.journal_id != original.id)]
            moved = min(int(original.points), sum(int(lot.remaining) for lot in lots))
        else:
            moves = await LotMove.filter(journal_id=original.id).order_by("id")
            moved = -sum(int(m.points) for m in moves)
        journal_id = await _insert_journal(
            rev_reference,
            JournalKind.REVERSAL,
            original.source,
            member_id,
            moved,
            merchant_id=original.merchant_id,
            settlement_fen=-original.settlement_fen,
            reverses_id=original.id,
            memo=memo,
        )
        if original.kind == JournalKind.EARN:
            await _reverse_earn(member_id, original, journal_id, moved, lots, counterparts)
        else:
            await _reverse_spend(member_id, journal_id, moves, counterparts)
        return Posting(journal_id, rev_reference, JournalKind.REVERSAL, member_id, moved)

    return await _once(rev_reference, post, lambda j: j.reverses_id == original.id)


async def _reverse_earn(
    member_id: int,
    original: Journal,
    journal_id: int,
    taken: int,
    lots: Sequence[PointsLot],
    counterparts: list[Counterpart],
) -> None:
    if taken:
        await _take(member_id, journal_id, taken, lots)
        await _debit(member_id, taken)
    await PointsLot.filter(journal_id=original.id).update(reversed_points=F("points"))
    await _insert_entries(
        journal_id,
        [
            (AccountKind.MEMBER, member_id, -taken),
            (AccountKind.WRITEOFF, 0, -(int(original.points) - taken)),
            *counterparts,
        ],
    )
    if await tiers.refresh(member_id):
        await hooks.segments_changed(member_id)


async def _reverse_spend(
    member_id: int, journal_id: int, moves: Sequence[LotMove], counterparts: list[Counterpart]
) -> None:
    restored = 0
    for move in moves:
        back = -int(move.points)
        await PointsLot.filter(id=move.lot_id).update(remaining=F("remaining") + back)
        restored += back
    await LotMove.bulk_create(
        [LotMove(journal_id=journal_id, lot_id=m.lot_id, points=-m.points) for m in moves]
    )
    await _credit(member_id, restored)
    await _insert_entries(journal_id, [(AccountKind.MEMBER, member_id, restored), *counterparts])


def as_of(value: str | None) -> datetime:
    """Parse an ISO instant passed to a job (default: now)."""
    if not value:
        return utcnow()
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
