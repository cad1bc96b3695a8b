"""The composition root's list of domains: the one place that knows every plugin.

Domains must not import each other in cycles, so a domain that lets others take part in its flows
exposes hooks (e.g. `loyalty.hooks`) and the plugin of the domain taking part installs itself there.
`create_app` (API) and `run_worker` (standalone worker) call `wire()` once per process; installing
replaces, so calling it again registers nothing twice.
"""

from __future__ import annotations

from app.core import plugin as core
from app.core.plugins import Plugin
from campaigns import plugin as campaigns
from loyalty import plugin as loyalty
from merchants import plugin as merchants
from miniprogram_api import plugin as miniprogram

PLUGINS: tuple[Plugin, ...] = (
    core.PLUGIN,
    merchants.PLUGIN,
    loyalty.PLUGIN,
    campaigns.PLUGIN,
    miniprogram.PLUGIN,
)


def wire() -> None:
    """Install every cross-domain hook in this process."""
    for plugin in PLUGINS:
        if plugin.wire is not None:
            plugin.wire()
