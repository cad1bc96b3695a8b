"""The jobs of the campaign types: what loyalty enqueues after a sale commits or is refunded."""

from __future__ import annotations

from app.core.jobs import Job
from campaigns.types import multiplier, referral, sale_listener, spend_and_get

# The per-type sale jobs stay registered so that messages sent before `campaigns.on_sale` still run.
TASKS: list[Job] = [
    sale_listener.on_sale,
    sale_listener.on_sale_refunded,
    multiplier.on_sale,
    spend_and_get.on_sale,
    referral.on_sale,
]
