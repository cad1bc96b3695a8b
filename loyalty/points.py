"""What members see of their points: balance and tier, points expiring by date, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.pagination import PageParams, paginate
from app.timeutil import BUSINESS_TZ, utcnow
from loyalty import tiers
from loyalty.errors import MemberNotFound
from loyalty.models import AccountKind, Entry, Member, PointsAccount, PointsLot, Tier


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


async def summary(member_id: int) -> Summary:
    """The member's points at a glance."""
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise MemberNotFound("member not found")
    earned = await tiers.earned_in_window(member_id)
    upcoming = await expiring(member_id)
    following = tiers.next_tier(member.tier)
    return Summary(
        balance=await balance(member_id),
        tier=member.tier,
        earned_12_months=earned,
        next_tier=following[0] if following else None,
        points_to_next_tier=max(0, following[1] - earned) if following else None,
        next_expiry=upcoming[0] if upcoming else None,
    )


async def history(member_id: int, page: PageParams) -> tuple[list[Entry], str | None]:
    """The member's ledger entries, newest first, with their journal and merchant."""
    queryset = Entry.filter(account_kind=AccountKind.MEMBER, account_id=member_id).select_related(
        "journal", "journal__merchant"
    )
    return await paginate(queryset, page)
