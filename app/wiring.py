"""Cross-domain wiring: the one place that plugs domains into each other's flows.

Domains must not import each other in cycles, so a domain that lets others take part in its flows
exposes hooks (e.g. `loyalty.hooks`) and this module installs the providers, explicitly, once per
process: `create_app` (API) and `run_worker` (standalone worker) call `wire()`. Installing replaces, so
calling it again registers nothing twice.
"""

from __future__ import annotations

from campaigns import flash_audience, multiplier, sale_listener
from loyalty import dashboard as loyalty_dashboard
from loyalty import hooks as loyalty_hooks


def wire() -> None:
    """Install every cross-domain hook in this process."""
    loyalty_dashboard.install()  # loyalty's figures on the grid dashboard
    loyalty_hooks.install(
        earn_multipliers=[multiplier.earn_multiplier],  # live points-multiplier campaigns
        # run after each sale commits: book multiplier bonuses, spend-and-get and referral rewards
        sale_listeners=[sale_listener.on_sale],
        refund_listeners=[sale_listener.on_sale_refunded],  # take back what campaigns paid for the sale
        # loaded flash campaigns follow members' tiers and tags
        segment_listeners=[flash_audience.on_segments_changed],
    )
