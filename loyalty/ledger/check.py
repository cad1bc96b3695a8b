"""`linli ledger check`: verify the ledger's invariants from the database alone.

Each check is one set-based query returning the rows that break it (at most `LIMIT` per check).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core import sql
from app.core.timeutil import business_day_bounds
from loyalty.settlement import statements as settlement

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


CHECKS += [
    (
        "a used voucher has exactly one standing redemption, an active or revoked one none",
        """
        SELECT v.id AS voucher_id, v.status, COUNT(r.id) AS standing FROM loyalty_voucher v
        LEFT JOIN loyalty_voucher_redemption r ON r.voucher_id = v.id AND r.status = 'redeemed'
        GROUP BY v.id, v.status
        HAVING (v.status = 'used' AND COUNT(r.id) <> 1)
            OR (v.status IN ('active', 'revoked') AND COUNT(r.id) <> 0)
        """,
    ),
    (
        "a benefit's stock taken equals the vouchers issued",
        """
        SELECT b.id AS benefit_id, b.stock_total, b.stock_left, COUNT(v.id) AS issued FROM loyalty_benefit b
        LEFT JOIN loyalty_voucher v ON v.benefit_id = b.id WHERE b.stock_total IS NOT NULL
        GROUP BY b.id, b.stock_total, b.stock_left HAVING b.stock_total - b.stock_left <> COUNT(v.id)
        """,
    ),
    (
        "points settlement lines match their journals",
        """
        SELECT l.id AS line_id, l.amount_fen, j.settlement_fen, s.merchant_id,
               j.merchant_id AS journal_merchant
        FROM loyalty_settlement_line l JOIN loyalty_settlement_statement s ON s.id = l.statement_id
        LEFT JOIN loyalty_journal j ON j.id = l.source_id
        WHERE l.kind = 'points'
          AND (j.id IS NULL OR l.amount_fen <> j.settlement_fen OR s.merchant_id <> j.merchant_id)
        """,
    ),
    (
        "voucher settlement lines match their redemptions",
        """
        SELECT l.id AS line_id, l.kind, l.amount_fen, r.settlement_fen, r.status
        FROM loyalty_settlement_line l JOIN loyalty_settlement_statement s ON s.id = l.statement_id
        LEFT JOIN loyalty_voucher_redemption r ON r.id = l.source_id
        WHERE l.kind IN ('voucher', 'voucher_reversal') AND (
            r.id IS NULL OR s.merchant_id <> r.merchant_id
            OR (l.kind = 'voucher' AND l.amount_fen <> r.settlement_fen)
            OR (l.kind = 'voucher_reversal'
                AND (l.amount_fen <> -r.settlement_fen OR r.status <> 'reversed')))
        """,
    ),
    (
        "statement totals equal their lines",
        """
        SELECT s.id AS statement_id, s.payable_fen, s.receivable_fen, s.net_fen, s.line_count,
               COALESCE(t.net, 0) AS lines_net, COALESCE(t.n, 0) AS lines
        FROM loyalty_settlement_statement s LEFT JOIN (
            SELECT statement_id, SUM(amount_fen) AS net, COUNT(*) AS n,
                   SUM(CASE WHEN amount_fen > 0 THEN amount_fen ELSE 0 END) AS payable
            FROM loyalty_settlement_line GROUP BY statement_id
        ) t ON t.statement_id = s.id
        WHERE s.net_fen <> COALESCE(t.net, 0) OR s.line_count <> COALESCE(t.n, 0)
           OR s.payable_fen <> COALESCE(t.payable, 0) OR s.net_fen <> s.payable_fen - s.receivable_fen
        """,
    ),
]

# For every business day settlement was built for: each event of that day has its line.
DAY_CHECKS: list[tuple[str, str]] = [
    (
        "every points event of a settled day is on a statement",
        """
        SELECT j.id AS journal_id, j.merchant_id, j.settlement_fen FROM loyalty_journal j
        LEFT JOIN loyalty_settlement_line l ON l.kind = 'points' AND l.source_id = j.id
        WHERE j.merchant_id IS NOT NULL AND j.settlement_fen <> 0
          AND j.created_at >= $1 AND j.created_at < $2 AND l.id IS NULL
        """,
    ),
    (
        "every voucher redemption of a settled day is on a statement",
        """
        SELECT r.id AS redemption_id, r.merchant_id, r.settlement_fen FROM loyalty_voucher_redemption r
        LEFT JOIN loyalty_settlement_line l ON l.kind = 'voucher' AND l.source_id = r.id
        WHERE r.merchant_id IS NOT NULL AND r.settlement_fen > 0
          AND r.created_at >= $1 AND r.created_at < $2 AND l.id IS NULL
        """,
    ),
    (
        "every voucher reversal of a settled day is on a statement",
        """
        SELECT r.id AS redemption_id, r.merchant_id, r.settlement_fen FROM loyalty_voucher_redemption r
        LEFT JOIN loyalty_settlement_line l ON l.kind = 'voucher_reversal' AND l.source_id = r.id
        WHERE r.merchant_id IS NOT NULL AND r.settlement_fen > 0
          AND r.reversed_at >= $1 AND r.reversed_at < $2 AND l.id IS NULL
        """,
    ),
]


def _describe(row: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items())


async def run_checks() -> list[Break]:
    """Every broken invariant (an empty list means the ledger is sound)."""
    breaks: list[Break] = []
    for name, query in CHECKS:
        for row in await sql.rows(f"{query.strip()} LIMIT {LIMIT}"):
            breaks.append(Break(name, _describe(row)))
    for day in await settlement.settled_days():
        start, end = business_day_bounds(day)
        for name, query in DAY_CHECKS:
            for row in await sql.rows(f"{query.strip()} LIMIT {LIMIT}", start, end):
                breaks.append(Break(name, f"business_day={day}, {_describe(row)}"))
    return breaks
