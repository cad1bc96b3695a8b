"""The campaigns domain as the composition root sees it: routers, jobs, loops and its loyalty hooks."""

from __future__ import annotations

from app.core.plugins import Mount, Plugin
from campaigns import (
    flash_audience,
    flash_runtime,
    multiplier,
    router_merchant,
    router_ops,
    sale_listener,
    tasks,
)
from loyalty import hooks as loyalty_hooks


def wire() -> None:
    """Plug the campaigns into loyalty's flows (installing replaces: calling it twice adds nothing)."""
    loyalty_hooks.install(
        earn_multipliers=[multiplier.earn_multiplier],  # live points-multiplier campaigns
        # run after each sale commits: book multiplier bonuses, spend-and-get and referral rewards
        sale_listeners=[sale_listener.on_sale],
        refund_listeners=[sale_listener.on_sale_refunded],  # take back what campaigns paid for the sale
        # loaded flash campaigns follow members' tiers and tags
        segment_listeners=[flash_audience.on_segments_changed],
    )


PLUGIN = Plugin(
    name="campaigns",
    mounts=[
        Mount("/merchant/v1", router_merchant.router, rank=50),
        Mount("/ops/v1", router_ops.router, rank=100, guarded=True),
    ],
    jobs=tasks.TASKS,
    crons=tasks.CRON_JOBS,
    loops=tasks.LOOPS,
    # Per-process flash caches and write-behind; it returns (after a last flush) when stopped.
    api_loops=[flash_runtime.runtime.run],
    wire=wire,
)
