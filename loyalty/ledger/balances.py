"""What members see of their points: balance and tier, points expiring by date, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.core import sql
from app.core.pagination import PageParams, paginate
from app.core.timeutil import BUSINESS_TZ, utcnow
from loyalty.errors import MemberNotFound
from loyalty.ledger import tiers
from loyalty.models import AccountKind, Entry, PointsAccount, PointsLot, Tier


@dataclass(frozen=True)
class Expiring:
    """Points expiring at the end of one day (Asia/Shanghai)."""

    last_day: date
    points: int


@dataclass(frozen=True)
class Summary:
    """Balance, tier and progress, and the next points to expire."""

    balance: int
    tier: Tier
    earned_12_months: int
    next_tier: Tier | None
    points_to_next_tier: int | None
    next_expiry: Expiring | None


def last_valid_day(expires_at: datetime) -> date:
    """The last Asia/Shanghai day on which points expiring at `expires_at` can still be used."""
    return (expires_at - timedelta(microseconds=1)).astimezone(BUSINESS_TZ).date()


async def balance(member_id: int) -> int:
    """The member's points balance (one row)."""
    account = await PointsAccount.get_or_none(member_id=member_id)
    if account is None:
        raise MemberNotFound("member not found")
    return int(account.balance)


async def expiring(member_id: int, now: datetime | None = None) -> list[Expiring]:
    """Unexpired points grouped by the day they expire, soonest first."""
    now = now or utcnow()
    lots = await PointsLot.filter(member_id=member_id, remaining__gt=0, expires_at__gt=now).order_by(
        "expires_at"
    )
    grouped: dict[date, int] = {}
    for lot in lots:
        day = last_valid_day(lot.expires_at)
        grouped[day] = grouped.get(day, 0) + int(lot.remaining)
    return [Expiring(day, points) for day, points in grouped.items()]


# The member, the balance, points earned in the tier window and the first expiry, in one statement: the
# summary is on every home screen.
_SUMMARY = """
SELECT m.tier AS tier, a.balance AS balance,
       (SELECT COALESCE(SUM(l.points - l.reversed_points), 0) FROM loyalty_points_lot l
         WHERE l.member_id = $1 AND l.created_at > $2) AS earned,
       (SELECT MIN(l.expires_at) FROM loyalty_points_lot l
         WHERE l.member_id = $1 AND l.remaining > 0 AND l.expires_at > $3) AS first_expiry
FROM loyalty_member m JOIN loyalty_points_account a ON a.member_id = m.id
WHERE m.id = $1
"""
_EXPIRING_BY = (
    "SELECT COALESCE(SUM(remaining), 0) AS points FROM loyalty_points_lot "
    "WHERE member_id = $1 AND remaining > 0 AND expires_at > $2 AND expires_at <= $3"
)


async def summary(member_id: int) -> Summary:
    """The member's points at a glance (two indexed statements)."""
    now = utcnow()
    found = await sql.rows(_SUMMARY, member_id, tiers.window_start(now), now)
    if not found:
        raise MemberNotFound("member not found")
    row = found[0]
    next_expiry = None
    if row["first_expiry"] is not None:
        day = last_valid_day(sql.instant(row["first_expiry"]))
        # Lots usable through `day` expire at its end at the latest: the next day's midnight.
        day_end = datetime.combine(day + timedelta(days=1), time.min, BUSINESS_TZ)
        due = await sql.rows(_EXPIRING_BY, member_id, now, day_end.astimezone(UTC))
        next_expiry = Expiring(day, int(due[0]["points"]))
    tier, earned = Tier(row["tier"]), int(row["earned"])
    following = tiers.next_tier(tier)
    return Summary(
        balance=int(row["balance"]),
        tier=tier,
        earned_12_months=earned,
        next_tier=following[0] if following else None,
        points_to_next_tier=max(0, following[1] - earned) if following else None,
        next_expiry=next_expiry,
    )


async def history(member_id: int, page: PageParams) -> tuple[list[Entry], str | None]:
    """The member's ledger entries, newest first, with their journal and merchant."""
    queryset = Entry.filter(account_kind=AccountKind.MEMBER, account_id=member_id).select_related(
        "journal", "journal__merchant"
    )
    return await paginate(queryset, page)
