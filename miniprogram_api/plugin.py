"""The customer layer as the composition root sees it: `/mp/v1` and bill payment (its fast lanes are declared
on their routes: `app.core.fastlane`)."""

from __future__ import annotations

from app.core import bank
from app.core.plugins import Mount, Plugin
from miniprogram_api.billpay import adapters as billpay_adapters
from miniprogram_api.billpay import router_ops as billpay_ops
from miniprogram_api.billpay import tasks as billpay_tasks
from miniprogram_api.router import BUSIEST_CUSTOMER_ROUTERS, ROUTERS


def wire() -> None:
    """The bank core bill payment talks to is the one every domain uses (the simulated one here)."""
    bank.install_provider(billpay_adapters.payment_provider())


PLUGIN = Plugin(
    name="miniprogram",
    mounts=[
        # The busiest customer areas (stores, home) come first, before the till's routes.
        *(Mount("/mp/v1", router, rank=10) for router in ROUTERS[:BUSIEST_CUSTOMER_ROUTERS]),
        *(Mount("/mp/v1", router, rank=30) for router in ROUTERS[BUSIEST_CUSTOMER_ROUTERS:]),
        Mount("/ops/v1", billpay_ops.router, rank=110, guarded=True),
    ],
    jobs=billpay_tasks.TASKS,
    crons=billpay_tasks.CRON_JOBS,
    wire=wire,
)
