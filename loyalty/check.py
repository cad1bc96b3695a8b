"""`linli ledger check`: verify the ledger's invariants from the database alone.

Each check is one set-based query returning the rows that break it (at most `LIMIT` per check).
"""

from __future__ import annotations

from dataclasses import dataclass

from loyalty import sql

LIMIT = 50


@dataclass(frozen=True)
class Break:
    """One broken invariant, with the offending row."""

    check: str
    detail: str


CHECKS: list[tuple[str, str]] = [
    (
        "journal entries sum to zero (at least two entries)",
        """
        SELECT j.id AS journal_id, COALESCE(SUM(e.amount), 0) AS total, COUNT(e.id) AS entries
        FROM loyalty_journal j LEFT JOIN loyalty_entry e ON e.journal_id = j.id
        GROUP BY j.id HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2
        """,
    ),
    (
        "member balance equals the sum of its entries",
        """
        SELECT a.member_id, a.balance, COALESCE(s.total, 0) AS entries_total
        FROM loyalty_points_account a LEFT JOIN (
            SELECT account_id, SUM(amount) AS total FROM loyalty_entry
            WHERE account_kind = 'member' GROUP BY account_id
        ) s ON s.account_id = a.member_id
        WHERE a.balance <> COALESCE(s.total, 0)
        """,
    ),
    (
        "every member entry belongs to a points account",
        """
        SELECT e.id AS entry_id, e.account_id FROM loyalty_entry e
        LEFT JOIN loyalty_points_account a ON a.member_id = e.account_id
        WHERE e.account_kind = 'member' AND a.member_id IS NULL
        """,
    ),
    (
        "no member balance is negative",
        "SELECT member_id, balance FROM loyalty_points_account WHERE balance < 0",
    ),
    (
        "member balance equals the points left in their lots",
        """
        SELECT a.member_id, a.balance, COALESCE(l.remaining, 0) AS lots_remaining
        FROM loyalty_points_account a LEFT JOIN (
            SELECT member_id, SUM(remaining) AS remaining FROM loyalty_points_lot GROUP BY member_id
        ) l ON l.member_id = a.member_id
        WHERE a.balance <> COALESCE(l.remaining, 0)
        """,
    ),
    (
        "a lot's points left equal its points plus its moves",
        """
        SELECT l.id AS lot_id, l.points, l.remaining, COALESCE(SUM(m.points), 0) AS moves
        FROM loyalty_points_lot l LEFT JOIN loyalty_lot_move m ON m.lot_id = l.id
        GROUP BY l.id, l.points, l.remaining HAVING l.remaining <> l.points + COALESCE(SUM(m.points), 0)
        """,
    ),
    (
        "a journal's member entry equals the lots it created plus its lot moves",
        """
        SELECT j.id AS journal_id, COALESCE(e.total, 0) AS member_entry,
               COALESCE(l.total, 0) + COALESCE(m.total, 0) AS lots_change
        FROM loyalty_journal j
        LEFT JOIN (SELECT journal_id, SUM(amount) AS total FROM loyalty_entry
                   WHERE account_kind = 'member' GROUP BY journal_id) e ON e.journal_id = j.id
        LEFT JOIN (SELECT journal_id, SUM(points) AS total FROM loyalty_points_lot GROUP BY journal_id) l
               ON l.journal_id = j.id
        LEFT JOIN (SELECT journal_id, SUM(points) AS total FROM loyalty_lot_move GROUP BY journal_id) m
               ON m.journal_id = j.id
        WHERE COALESCE(e.total, 0) <> COALESCE(l.total, 0) + COALESCE(m.total, 0)
        """,
    ),
    (
        "member entries belong to the journal's member",
        """
        SELECT e.id AS entry_id, e.account_id, j.member_id FROM loyalty_entry e
        JOIN loyalty_journal j ON j.id = e.journal_id
        WHERE e.account_kind = 'member' AND (j.member_id IS NULL OR e.account_id <> j.member_id)
        """,
    ),
    (
        "a reversal mirrors its journal's settlement value",
        """
        SELECT r.id AS reversal_id, r.settlement_fen, o.settlement_fen AS original_settlement_fen
        FROM loyalty_journal r JOIN loyalty_journal o ON o.id = r.reverses_id
        WHERE r.settlement_fen <> -o.settlement_fen
        """,
    ),
]


async def run_checks() -> list[Break]:
    """Every broken invariant (an empty list means the ledger is sound)."""
    breaks: list[Break] = []
    for name, query in CHECKS:
        for row in await sql.rows(f"{query.strip()} LIMIT {LIMIT}"):
            breaks.append(Break(name, ", ".join(f"{k}={v}" for k, v in row.items())))
    return breaks
