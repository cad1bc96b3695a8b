"""The loyalty domain as the composition root sees it: routers, jobs, commands and its grid figures."""

from __future__ import annotations

from app.core.plugins import Mount, Plugin
from loyalty import router_merchant, router_ops
from loyalty.ledger import cli
from loyalty.ledger import tasks as ledger_tasks
from loyalty.members import tasks as member_tasks
from loyalty.messages import tasks as message_tasks
from loyalty.settlement import tasks as settlement_tasks
from loyalty.till import dashboard

PLUGIN = Plugin(
    name="loyalty",
    mounts=[
        # The till (sales and redemptions) is the busiest merchant traffic: tried right after home.
        Mount("/merchant/v1", router_merchant.router, rank=20),
        Mount("/ops/v1", router_ops.router, rank=90, guarded=True),
    ],
    jobs=[*ledger_tasks.TASKS, *settlement_tasks.TASKS, *member_tasks.TASKS, *message_tasks.TASKS],
    crons=[
        *ledger_tasks.CRON_JOBS,
        *settlement_tasks.CRON_JOBS,
        *member_tasks.CRON_JOBS,
        *message_tasks.CRON_JOBS,
    ],
    commands=[cli.register],
    wire=dashboard.install,  # loyalty's figures on the grid dashboard
)
