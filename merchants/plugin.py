"""The merchants domain as the composition root sees it: routers, jobs and commands."""

from __future__ import annotations

from app.core.plugins import Mount, Plugin
from merchants import router_merchant, router_ops
from merchants.discovery import cli, tasks

PLUGIN = Plugin(
    name="merchants",
    mounts=[
        Mount("/merchant/v1", router_merchant.router, rank=40),
        Mount("/ops/v1", router_ops.router, rank=80, guarded=True),
    ],
    jobs=tasks.TASKS,
    crons=tasks.CRON_JOBS,
    commands=[cli.register],
)
