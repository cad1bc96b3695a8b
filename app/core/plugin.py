"""The core's own contribution: operator login, operators, the audit log, dead jobs and the outbox crons."""

from __future__ import annotations

from app.core.jobs import CORE_CRON_JOBS
from app.core.plugins import Mount, Plugin
from app.core.router_ops import public, router

PLUGIN = Plugin(
    name="core",
    mounts=[Mount("/ops/v1", public, rank=60), Mount("/ops/v1", router, rank=70, guarded=True)],
    crons=CORE_CRON_JOBS,
)
