"""The flash engine: what other domains call to grab, read the stock left, list a member's wins, handle
the orders of priced wins (list, read, pay, cancel), take "remind me" requests — and the live view the ops
console shows."""

from campaigns.flash.grabs import answered_wins, check_idempotency_key, grab, stock_left
from campaigns.flash.orders import Order
from campaigns.flash.orders import cancel as cancel_order
from campaigns.flash.orders import get as flash_order
from campaigns.flash.orders import pending as pending_orders
from campaigns.flash.payments import pay as pay_order
from campaigns.flash.reminders import remind_me
from campaigns.flash.stats import live as live_view
from campaigns.repository import member_wins

__all__ = [
    "Order",
    "answered_wins",
    "cancel_order",
    "check_idempotency_key",
    "flash_order",
    "grab",
    "live_view",
    "member_wins",
    "pay_order",
    "pending_orders",
    "remind_me",
    "stock_left",
]
