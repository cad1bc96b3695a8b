"""The campaigns domain as the composition root sees it: routers, jobs, loops and its hooks."""

from __future__ import annotations

from app.core.plugins import Mount, Plugin
from campaigns import router_merchant, router_ops
from campaigns.flash import audience as flash_audience
from campaigns.flash import follow as flash_follow
from campaigns.flash import reminders as flash_reminders
from campaigns.flash import tasks as flash_tasks
from campaigns.flash.runtime import runtime as flash_runtime
from campaigns.lifecycle import transitions
from campaigns.management import tasks as management_tasks
from campaigns.types import multiplier, sale_listener
from campaigns.types import tasks as type_tasks
from loyalty import hooks as loyalty_hooks


def wire() -> None:
    """Plug the campaigns into loyalty's flows and the flash engine into the campaign lifecycle."""
    transitions.install_listeners(flash_follow.on_transition)
    loyalty_hooks.install(
        # live points-multiplier campaigns: decided, and their budget reserved, in the sale's transaction
        earn_multipliers=[multiplier.decide],
        # run after each sale commits: book the recorded multiplier bonus, spend-and-get and referral rewards
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
    jobs=[*flash_tasks.TASKS, *type_tasks.TASKS, *flash_reminders.TASKS],
    crons=[*management_tasks.CRON_JOBS, *flash_reminders.CRON_JOBS],
    loops=flash_tasks.LOOPS,
    # Per-process flash caches and write-behind; it returns (after a last flush) when stopped.
    api_loops=[flash_runtime.run],
    wire=wire,
)
