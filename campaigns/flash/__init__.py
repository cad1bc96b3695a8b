"""The flash engine: what other domains call to grab, read the stock left and list a member's wins."""

from campaigns.flash.grabs import answered_wins, check_idempotency_key, grab, stock_left
from campaigns.flash.reminders import remind_me
from campaigns.repository import member_wins

__all__ = ["answered_wins", "check_idempotency_key", "grab", "member_wins", "remind_me", "stock_left"]
