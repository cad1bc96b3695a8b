"""The flash engine: what other domains call to grab, read the stock left and list a member's wins (and the
live view the ops console shows)."""

from campaigns.flash.grabs import answered_wins, check_idempotency_key, grab, stock_left
from campaigns.flash.stats import live as live_view
from campaigns.repository import member_wins

__all__ = ["answered_wins", "check_idempotency_key", "grab", "live_view", "member_wins", "stock_left"]
