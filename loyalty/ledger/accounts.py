"""Points accounts as other domains use them: earn, spend, reverse by reference, and read balances.

Everything here may run inside the caller's `app.core.db.transaction()` (it nests as a savepoint) and is
idempotent by the caller's unique reference. `docs/loyalty.md` documents this API; keep them in step.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core import sql
from app.core.db import transaction
from loyalty.ledger import balances as member_points
from loyalty.ledger import postings as ledger
from loyalty.ledger.postings import EarnSource, Posting, SpendPurpose, check_points
from loyalty.members import pool as members
from loyalty.models import AccountKind
from loyalty.till import sales


async def earn_points(
    member_id: int,
    points: int,
    *,
    source: EarnSource,
    reference: str,
    merchant_id: int | None = None,
    funded_by_merchant: bool = False,
    memo: str = "",
) -> Posting:
    """Credit points to a member; the same `reference` twice posts once (`replayed=True` the second time).

    The bank's pool funds the points unless `funded_by_merchant`, in which case `merchant_id` owes them
    in settlement. Raises 404 `member.not_found` or `merchant.not_found`, 409 `points.reference_conflict`
    (reference used for a different posting), 422 for a non-positive or oversized amount.
    """
    check_points(points)
    await members.get_member(member_id)
    if funded_by_merchant and merchant_id is None:
        raise ValueError("a merchant-funded earn needs merchant_id")
    terms = await sales.merchant_terms(merchant_id) if merchant_id is not None else None
    if funded_by_merchant and terms is not None:
        funding = [(AccountKind.MERCHANT, terms.merchant_id, points)]
        settlement_fen = -points * terms.point_value_fen
    else:
        funding = [(AccountKind.POOL, 0, points)]
        settlement_fen = 0
    return await ledger.post_earn(
        member_id,
        points,
        source=source,
        reference=reference,
        funding=funding,
        merchant_id=merchant_id,
        settlement_fen=settlement_fen,
        memo=memo,
    )


async def spend_points(
    member_id: int, points: int, *, purpose: SpendPurpose, reference: str, memo: str = ""
) -> Posting:
    """Debit points from a member, oldest lots first; 409 `points.insufficient` and nothing written if short.

    The points go back to the bank (the redemption account). Paying a merchant with points happens at
    the till (`POST /merchant/v1/points-payments`), not here.
    """
    if purpose == SpendPurpose.POINTS_PAYMENT:
        raise ValueError("points payments go through the till")
    return await ledger.post_spend(
        member_id,
        points,
        source=purpose,
        reference=reference,
        counterpart=(AccountKind.REDEMPTION, 0),
        memo=memo,
    )


async def reverse_points(reference: str, *, memo: str = "") -> Posting:
    """Reverse the journal posted under `reference` (e.g. a bill payment failed after points were awarded).

    Idempotent: reversing twice returns the first reversal (`replayed=True`). An earn is taken back as far
    as the member's balance allows (the bank writes off the rest, a balance never goes negative), a spend
    is given back to the lots it came from. 404 `points.journal_not_found`, 409 `points.not_reversible`.
    """
    async with transaction():
        return await ledger.reverse(reference, memo=memo)


async def points_issued(reference_prefixes: Sequence[str]) -> int:
    """Net points earned under references starting with one of the prefixes (earns less their reversals)."""
    if not reference_prefixes:
        return 0
    likes = " OR ".join(f"j.reference LIKE ${i + 1}" for i in range(len(reference_prefixes)))
    args = [prefix + "%" for prefix in reference_prefixes]  # callers' own prefixes: no wildcards
    earned = await sql.rows(
        "SELECT COALESCE(SUM(j.points), 0) AS points FROM loyalty_journal j"  # noqa: S608
        f" WHERE j.kind = 'earn' AND ({likes})",
        *args,
    )
    reversed_ = await sql.rows(
        "SELECT COALESCE(SUM(r.points), 0) AS points FROM loyalty_journal r"  # noqa: S608
        f" JOIN loyalty_journal j ON j.id = r.reverses_id WHERE j.kind = 'earn' AND ({likes})",
        *args,
    )
    return int(earned[0]["points"]) - int(reversed_[0]["points"])


async def points_balance(member_id: int) -> int:
    """A member's current balance (one row)."""
    return await member_points.balance(member_id)
