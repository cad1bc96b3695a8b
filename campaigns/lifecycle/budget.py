"""Campaign budgets: spending is a conditional update, so concurrent payouts can never overrun one.

This is the seam every payout goes through: the flash persister today, loyalty-backed payouts of the
other campaign types later. The CHECK constraint on the campaign row is the last line of defence.
"""

from __future__ import annotations

from app.core import sql
from campaigns.models import Campaign

_SPEND = """
UPDATE campaigns_campaign SET spent_count = spent_count + $1, spent_fen = spent_fen + $2
WHERE id = $3
  AND (budget_count IS NULL OR spent_count + $1 <= budget_count)
  AND (budget_fen IS NULL OR spent_fen + $2 <= budget_fen)
RETURNING id
"""


async def spend(campaign_id: int, count: int, fen: int) -> bool:
    """Spend `count` rewards worth `fen` in the caller's transaction; False (nothing spent) if over budget."""
    return len(await sql.rows(_SPEND, count, fen, campaign_id)) == 1


def remaining_items(campaign: Campaign, unit_cost_fen: int) -> int | None:
    """How many more rewards the budget pays for (None: no budget limit)."""
    limits: list[int] = []
    if campaign.budget_count is not None:
        limits.append(campaign.budget_count - campaign.spent_count)
    if campaign.budget_fen is not None and unit_cost_fen > 0:
        limits.append((campaign.budget_fen - campaign.spent_fen) // unit_cost_fen)
    return max(0, min(limits)) if limits else None


def exhausted(campaign: Campaign, unit_cost_fen: int) -> bool:
    """Whether the budget cannot pay for one more reward."""
    remaining = remaining_items(campaign, unit_cost_fen)
    if remaining is not None and remaining <= 0:
        return True
    return campaign.budget_fen is not None and campaign.spent_fen >= campaign.budget_fen
