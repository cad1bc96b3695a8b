"""The points ledger: what other domains call to earn, spend and reverse points and to read balances."""

from loyalty.ledger.accounts import earn_points, points_balance, points_issued, reverse_points, spend_points
from loyalty.ledger.balances import expiring as points_expiring
from loyalty.ledger.balances import history as points_history
from loyalty.ledger.balances import summary as points_summary
from loyalty.ledger.postings import EarnSource, Posting, SpendPurpose
from loyalty.ledger.tiers import tier_for

__all__ = [
    "EarnSource",
    "Posting",
    "SpendPurpose",
    "earn_points",
    "points_balance",
    "points_expiring",
    "points_history",
    "points_issued",
    "points_summary",
    "reverse_points",
    "spend_points",
    "tier_for",
]
