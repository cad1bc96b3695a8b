"""Tiers: regular, silver, gold by points earned in the trailing 12 months (not the balance)."""

from __future__ import annotations

from datetime import datetime

from app.core import sql
from app.core.config import get_settings
from app.core.timeutil import utcnow
from loyalty.models import Tier


def tier_for(points_earned: int) -> Tier:
    """The tier a member reaches with this many points earned in 12 months."""
    settings = get_settings()
    if points_earned >= settings.tier_gold_points:
        return Tier.GOLD
    if points_earned >= settings.tier_silver_points:
        return Tier.SILVER
    return Tier.REGULAR


def earn_percent(tier: Tier) -> int:
    """The tier's earning multiplier in percent (regular earns 100 %)."""
    settings = get_settings()
    return {
        Tier.REGULAR: 100,
        Tier.SILVER: settings.tier_silver_earn_percent,
        Tier.GOLD: settings.tier_gold_earn_percent,
    }[tier]


def next_tier(tier: Tier) -> tuple[Tier, int] | None:
    """The next tier up and the points it needs (None at the top)."""
    settings = get_settings()
    if tier == Tier.REGULAR:
        return Tier.SILVER, settings.tier_silver_points
    if tier == Tier.SILVER:
        return Tier.GOLD, settings.tier_gold_points
    return None


def window_start(now: datetime) -> datetime:
    """The instant 12 calendar months before `now`."""
    try:
        return now.replace(year=now.year - 1)
    except ValueError:  # 29 February
        return now.replace(year=now.year - 1, day=28)


async def earned_in_window(member_id: int, now: datetime | None = None) -> int:
    """Points earned in the trailing 12 months, less earnings that were reversed."""
    found = await sql.rows(
        "SELECT COALESCE(SUM(points - reversed_points), 0) AS total FROM loyalty_points_lot "
        "WHERE member_id = $1 AND created_at > $2",
        member_id,
        window_start(now or utcnow()),
    )
    return int(found[0]["total"])


async def refresh(member_id: int, now: datetime | None = None) -> bool:
    """Recompute a member's tier from their earnings in the window, stored when it changed (one statement);
    whether it changed."""
    settings = get_settings()
    changed = await sql.execute(
        """
        UPDATE loyalty_member SET tier = t.tier FROM (
            SELECT CASE WHEN s.earned >= $3 THEN 'gold' WHEN s.earned >= $4 THEN 'silver' ELSE 'regular' END
                   AS tier
            FROM (SELECT COALESCE(SUM(points - reversed_points), 0) AS earned FROM loyalty_points_lot
                  WHERE member_id = $1 AND created_at > $2) AS s
        ) AS t
        WHERE loyalty_member.id = $1 AND loyalty_member.tier <> t.tier
        """,
        member_id,
        window_start(now or utcnow()),
        settings.tier_gold_points,
        settings.tier_silver_points,
    )
    return bool(changed)
