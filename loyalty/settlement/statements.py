"""Settlement: one statement per merchant per business day, built set-based and safe to re-run.

Sources, in fen, positive when the bank owes the merchant:
- journals with a settlement value (points paid at the merchant +, points the merchant funded −,
  their reversals mirrored);
- bank-funded voucher redemptions at the till (+) and their reversals (−, on the reversal's day);
- what members paid the bank for a merchant's goods (+: a paid flash order of a merchant-funded campaign).
Each event becomes one line, `UNIQUE(kind, source_id)`, so building a day again never duplicates a
line; only draft statements take new lines and have their totals recomputed.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tortoise.queryset import QuerySet

from app.core import audit, sql
from app.core.auth.tokens import Principal
from app.core.db import transaction
from app.core.timeutil import business_day, business_day_bounds, utcnow
from loyalty.errors import StatementInvalidTransition, StatementNotFound
from loyalty.models import DailyRun, SettlementLine, SettlementStatement, StatementStatus

RUN_NAME = "settlement"
CATCH_UP_DAYS = 7

_MERCHANTS_WITH_EVENTS = """
SELECT merchant_id FROM loyalty_journal
 WHERE merchant_id IS NOT NULL AND settlement_fen <> 0 AND created_at >= $1 AND created_at < $2
UNION
SELECT merchant_id FROM loyalty_voucher_redemption
 WHERE merchant_id IS NOT NULL AND settlement_fen > 0 AND created_at >= $1 AND created_at < $2
UNION
SELECT merchant_id FROM loyalty_voucher_redemption
 WHERE merchant_id IS NOT NULL AND settlement_fen > 0 AND reversed_at >= $1 AND reversed_at < $2
UNION
SELECT merchant_id FROM loyalty_member_payment WHERE created_at >= $1 AND created_at < $2
"""

_LINES = [
    """
INSERT INTO loyalty_settlement_line (statement_id, kind, source_id, amount_fen, occurred_at, description)
SELECT s.id, 'points', j.id, j.settlement_fen, j.created_at, j.kind || ' ' || j.source || ' ' || j.points
FROM loyalty_journal j
JOIN loyalty_settlement_statement s ON s.merchant_id = j.merchant_id AND s.business_day = $1
WHERE s.status = 'draft' AND j.settlement_fen <> 0 AND j.created_at >= $2 AND j.created_at < $3
ON CONFLICT (kind, source_id) DO NOTHING
""",
    """
INSERT INTO loyalty_settlement_line (statement_id, kind, source_id, amount_fen, occurred_at, description)
SELECT s.id, 'voucher', r.id, r.settlement_fen, r.created_at, 'voucher ' || r.voucher_id
FROM loyalty_voucher_redemption r
JOIN loyalty_settlement_statement s ON s.merchant_id = r.merchant_id AND s.business_day = $1
WHERE s.status = 'draft' AND r.settlement_fen > 0 AND r.created_at >= $2 AND r.created_at < $3
ON CONFLICT (kind, source_id) DO NOTHING
""",
    """
INSERT INTO loyalty_settlement_line (statement_id, kind, source_id, amount_fen, occurred_at, description)
SELECT s.id, 'voucher_reversal', r.id, -r.settlement_fen, r.reversed_at,
       'reversal of voucher ' || r.voucher_id
FROM loyalty_voucher_redemption r
JOIN loyalty_settlement_statement s ON s.merchant_id = r.merchant_id AND s.business_day = $1
WHERE s.status = 'draft' AND r.settlement_fen > 0 AND r.reversed_at >= $2 AND r.reversed_at < $3
ON CONFLICT (kind, source_id) DO NOTHING
""",
    """
INSERT INTO loyalty_settlement_line (statement_id, kind, source_id, amount_fen, occurred_at, description)
SELECT s.id, 'member_payment', p.id, p.amount_fen, p.created_at, p.description
FROM loyalty_member_payment p
JOIN loyalty_settlement_statement s ON s.merchant_id = p.merchant_id AND s.business_day = $1
WHERE s.status = 'draft' AND p.created_at >= $2 AND p.created_at < $3
ON CONFLICT (kind, source_id) DO NOTHING
""",
]


async def record_member_payment(merchant_id: int, reference: str, amount_fen: int, description: str) -> None:
    """Members paid the bank `amount_fen` for this merchant's goods: the bank owes it to the merchant on
    the day's statement. Once per reference, in the caller's transaction."""
    await sql.execute(
        "INSERT INTO loyalty_member_payment (merchant_id, reference, amount_fen, description, created_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (reference) DO NOTHING",
        merchant_id,
        reference,
        amount_fen,
        description[:64],
        utcnow(),
    )


_TOTALS = """
UPDATE loyalty_settlement_statement AS s SET
    payable_fen = COALESCE((SELECT SUM(l.amount_fen) FROM loyalty_settlement_line l
                            WHERE l.statement_id = s.id AND l.amount_fen > 0), 0),
    receivable_fen = COALESCE((SELECT -SUM(l.amount_fen) FROM loyalty_settlement_line l
                               WHERE l.statement_id = s.id AND l.amount_fen < 0), 0),
    net_fen = COALESCE((SELECT SUM(l.amount_fen) FROM loyalty_settlement_line l
                        WHERE l.statement_id = s.id), 0),
    line_count = (SELECT COUNT(*) FROM loyalty_settlement_line l WHERE l.statement_id = s.id)
WHERE s.business_day = $1 AND s.status = 'draft'
"""


async def build_day(day: date) -> int:
    """Build (or complete) the statements of one business day; returns how many statements it has."""
    start, end = business_day_bounds(day)
    now = utcnow()
    async with transaction():
        merchant_ids = [int(r["merchant_id"]) for r in await sql.rows(_MERCHANTS_WITH_EVENTS, start, end)]
        await SettlementStatement.bulk_create(
            [SettlementStatement(merchant_id=m, business_day=day) for m in merchant_ids],
            ignore_conflicts=True,
            batch_size=1000,
        )
        for lines in _LINES:
            await sql.execute(lines, day, start, end)
        await sql.execute(_TOTALS, day)
        updated = await DailyRun.filter(name=RUN_NAME, business_day=day).update(finished_at=now)
        if not updated:
            await DailyRun.create(name=RUN_NAME, business_day=day, finished_at=now)
    return await SettlementStatement.filter(business_day=day).count()


async def days_due(today: date | None = None) -> list[date]:
    """Ended business days of the last week never built after they ended, oldest first."""
    today = today or business_day()
    candidates = [today - timedelta(days=n) for n in range(CATCH_UP_DAYS, 0, -1)]
    finished = {
        run.business_day: run.finished_at
        for run in await DailyRun.filter(name=RUN_NAME, business_day__in=candidates)
    }
    return [day for day in candidates if day not in finished or finished[day] < business_day_bounds(day)[1]]


async def settled_days() -> list[date]:
    """Every business day settlement was built for."""
    return [
        row["business_day"]
        for row in await DailyRun.filter(name=RUN_NAME).order_by("business_day").values("business_day")
    ]


def statements(
    *, day: date | None = None, merchant_id: int | None = None, status: StatementStatus | None = None
) -> QuerySet[SettlementStatement]:
    """Statements, filtered; a merchant's view always passes its merchant id."""
    queryset = SettlementStatement.all()
    if day is not None:
        queryset = queryset.filter(business_day=day)
    if merchant_id is not None:
        queryset = queryset.filter(merchant_id=merchant_id)
    if status is not None:
        queryset = queryset.filter(status=status)
    return queryset


async def statement(statement_id: int, *, merchant_id: int | None = None) -> SettlementStatement:
    """One statement (404 `settlement.not_found`, also for another merchant's)."""
    found = await statements(merchant_id=merchant_id).filter(id=statement_id).first()
    if found is None:
        raise StatementNotFound("statement not found")
    return found


def lines_of(statement_id: int) -> QuerySet[SettlementLine]:
    """The lines of a statement."""
    return SettlementLine.filter(statement_id=statement_id)


_NEXT = {
    "confirm": (StatementStatus.DRAFT, StatementStatus.CONFIRMED, "confirmed_at"),
    "pay": (StatementStatus.CONFIRMED, StatementStatus.PAID, "paid_at"),
}


async def advance(operator: Principal, statement_id: int, action: str) -> SettlementStatement:
    """Confirm a draft or mark a confirmed statement paid (409 `settlement.invalid_transition`)."""
    source, target, stamp = _NEXT[action]
    async with transaction():
        found = await statement(statement_id)
        moved = await SettlementStatement.filter(id=statement_id, status=source).update(
            **{"status": target, stamp: utcnow()}
        )
        if not moved:
            raise StatementInvalidTransition(f"cannot {action} a {found.status.value} statement")
        await audit.record(
            operator,
            f"settlement.{action}",
            "settlement_statement",
            statement_id,
            before={"status": found.status.value},
            after={"status": target.value, "net_fen": found.net_fen},
        )
    return await statement(statement_id)


CSV_COLUMNS = [
    "statement_id",
    "merchant_id",
    "merchant_name",
    "business_day",
    "status",
    "payable_fen",
    "receivable_fen",
    "net_fen",
    "line_count",
]


async def day_csv(day: date) -> str:
    """A business day's statements as CSV, one row per merchant (for the payments system)."""
    rows = (
        await SettlementStatement.filter(business_day=day).select_related("merchant").order_by("merchant_id")
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.id,
                row.merchant_id,
                row.merchant.name,
                row.business_day.isoformat(),
                row.status.value,
                row.payable_fen,
                row.receivable_fen,
                row.net_fen,
                row.line_count,
            ]
        )
    return out.getvalue()
