"""What a domain hands the composition root: routers, jobs, cron jobs, loops, hooks and commands.

Each domain (and the core) exposes one `PLUGIN` in its `plugin.py`; `app.wiring` lists the plugins,
never a domain's modules, and `app.main`, `app.worker` and `app.cli` read everything from them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from arq.cron import CronJob
from fastapi import APIRouter

from app.core.jobs import BackgroundLoop, Job

# A process-lifetime task of every API process (caches, write-behind); it returns soon after `stop` is set.
ApiLoop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Mount:
    """A router mounted under an audience prefix."""

    prefix: str
    router: APIRouter
    # FastAPI tries routes in inclusion order at ~3 µs each, so the busiest routers rank first; the rank
    # also fixes the order of paths in the OpenAPI document.
    rank: int
    guarded: bool = False  # behind the ops guard: the ops API denies by default


@dataclass(frozen=True)
class Plugin:
    """Everything one domain contributes to the API, the worker and the command line."""

    name: str
    mounts: Sequence[Mount] = ()
    jobs: Sequence[Job] = ()
    crons: Sequence[CronJob] = ()
    loops: Sequence[BackgroundLoop] = ()  # run by every worker
    api_loops: Sequence[ApiLoop] = ()  # run by every API process
    commands: Sequence[Callable[[Any], None]] = ()  # `register(subparsers)` of `linli` subcommands
    wire: Callable[[], None] | None = None  # installs this domain's hooks into other domains
