"""The loyalty domain as the composition root sees it: routers, jobs, commands and its grid figures."""

from __future__ import annotations

from app.core.plugins import Mount, Plugin
from loyalty import cli, dashboard, router_merchant, router_ops, tasks

PLUGIN = Plugin(
    name="loyalty",
    mounts=[
        # The till (sales and redemptions) is the busiest merchant traffic: tried right after home.
        Mount("/merchant/v1", router_merchant.router, rank=20),
        Mount("/ops/v1", router_ops.router, rank=90, guarded=True),
    ],
    jobs=tasks.TASKS,
    crons=tasks.CRON_JOBS,
    commands=[cli.register],
    wire=dashboard.install,  # loyalty's figures on the grid dashboard
)
