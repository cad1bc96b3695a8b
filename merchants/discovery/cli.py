"""`linli stores …`: maintenance commands of the merchants domain."""

from __future__ import annotations

import argparse
from typing import Any

from app.core.config import Settings


async def cmd_rebuild_geo(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild the nearby index in Redis from the database."""
    from app.core.cli_support import with_stores
    from merchants.discovery import index as discovery

    async def run() -> int:
        count = await discovery.rebuild_index()
        if count is None:
            print("another process is rebuilding the index right now")
            return 1
        print(f"nearby index rebuilt: {count} active stores")
        return 0

    return await with_stores(settings, run, redis=True)


def register(subparsers: Any) -> None:
    """Add `linli stores rebuild-geo`."""
    stores = subparsers.add_parser("stores", help="store maintenance")
    sub = stores.add_subparsers(dest="stores_command", required=True)
    rebuild = sub.add_parser("rebuild-geo", help="rebuild the Redis GEO index of active stores")
    rebuild.set_defaults(handler=cmd_rebuild_geo)
