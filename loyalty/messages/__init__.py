"""Reaching members: message kinds and templates, delivery rules, the inbox, channels and triggers."""

from loyalty.messages.channels import record_subscriptions
from loyalty.messages.inbox import (
    mark_all_read,
    mark_read,
    message_of,
    messages_of,
    opted_out,
    set_opted_out,
    unread_count,
)
from loyalty.messages.sending import send
from loyalty.messages.templates import Category, category_of, optional_kinds, render

__all__ = [
    "Category",
    "category_of",
    "mark_all_read",
    "mark_read",
    "message_of",
    "messages_of",
    "opted_out",
    "optional_kinds",
    "record_subscriptions",
    "render",
    "send",
    "set_opted_out",
    "unread_count",
]
