"""`linli ledger check`: verify the points ledger and settlement; exits non-zero on any break."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.core.config import Settings


async def cmd_ledger_check(args: argparse.Namespace, settings: Settings) -> int:
    """Run every ledger check and print the breaks."""
    from app.core.db import close_db, init_db
    from loyalty.ledger.check import CHECKS, run_checks

    await init_db(settings)
    try:
        breaks = await run_checks()
    finally:
        await close_db()
    for found in breaks:
        print(f"BROKEN {found.check}: {found.detail}", file=sys.stderr)
    if breaks:
        print(f"ledger check failed: {len(breaks)} break(s)", file=sys.stderr)
        return 1
    print(f"ledger check passed: {len(CHECKS)} checks")
    return 0


def register(subparsers: Any) -> None:
    """Add `linli ledger ...` to the command line."""
    ledger = subparsers.add_parser("ledger", help="points ledger maintenance")
    commands = ledger.add_subparsers(dest="ledger_command", required=True)
    check = commands.add_parser("check", help="verify the ledger's invariants (exit 1 on any break)")
    check.set_defaults(handler=cmd_ledger_check)
