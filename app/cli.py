"""The `linli` command: serve, worker, migrate, create-operator and domain maintenance commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app.core.cli_support import with_stores
from app.core.config import Settings, get_settings
from app.core.logs import configure_logging

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations."""
    from app.core.db import migrate

    await migrate(settings)
    print("migrations applied")
    return 0


async def cmd_create_operator(args: argparse.Namespace, settings: Settings) -> int:
    """Create an operator (bootstraps the first admin)."""
    from app.core.auth import operators
    from app.core.auth.deps import OperatorRole
    from app.core.errors import ProblemError

    password = args.password or os.environ.get("LINLI_OPERATOR_PASSWORD") or getpass.getpass("password: ")
    roles = [OperatorRole(r) for r in args.role]

    async def run() -> int:
        try:
            op = await operators.create_operator(None, args.username, password, roles, args.display_name)
        except ProblemError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
        print(f"operator {op.username} (id {op.id}) created with roles {', '.join(op.roles)}")
        return 0

    return await with_stores(settings, run)


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> int:
    """Write the OpenAPI document the mini-program and console teams generate clients from."""
    from app.openapi import write_openapi

    path = write_openapi(args.output)
    print(f"wrote {path}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API with uvicorn (uvloop, httptools); exit 1 when the embedded job worker gave up."""
    import uvicorn

    from app.lifecycle import serve_with, worker_failed

    configure_logging(settings.log_level, settings.log_json)
    options: dict[str, Any] = {
        "host": args.host or settings.host,
        "port": args.port or settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "proxy_headers": True,
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "access_log": False,
        "log_config": None,
        "timeout_graceful_shutdown": 10,
    }
    workers = args.workers or settings.workers
    if workers > 1:
        # uvicorn supervises the processes: one whose embedded worker gave up ends and is started again.
        uvicorn.run("app.asgi:app", workers=workers, **options)
        return 0
    server = uvicorn.Server(uvicorn.Config("app.asgi:app", **options))
    serve_with(server)  # so that an embedded worker giving up can stop it
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        return 3  # uvicorn's startup failure
    return 1 if worker_failed() else 0  # an embedded worker gave up: let the supervisor restart us


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run a standalone job worker."""
    import uvloop

    from app.lifecycle import run_worker

    configure_logging(settings.log_level, settings.log_json)
    return uvloop.run(run_worker(settings))  # 1 when Redis stayed out of reach: the supervisor restarts it


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="linli", description="Linli platform command line")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(sync_handler=cmd_serve)

    worker = sub.add_parser("worker", help="run an arq job worker")
    worker.set_defaults(sync_handler=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    create_op = sub.add_parser("create-operator", help="create a bank operator")
    create_op.add_argument("--username", required=True)
    create_op.add_argument("--password", help="or LINLI_OPERATOR_PASSWORD, or prompt")
    create_op.add_argument("--display-name", default="")
    create_op.add_argument(
        "--role",
        action="append",
        default=[],
        choices=["admin", "grid_manager", "campaign_manager", "approver", "auditor"],
        help="repeatable; default admin",
    )
    create_op.set_defaults(handler=cmd_create_operator)

    openapi = sub.add_parser("openapi", help="export the OpenAPI document")
    openapi.add_argument("--output", default="docs/openapi.json")
    openapi.set_defaults(sync_handler=cmd_openapi)

    from app.wiring import PLUGINS

    for plugin in PLUGINS:
        for register in plugin.commands:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `linli` console script."""
    args = build_parser().parse_args(argv)
    settings = get_settings()
    if getattr(args, "role", None) == []:
        args.role = ["admin"]
    if hasattr(args, "sync_handler"):
        return int(args.sync_handler(args, settings))
    configure_logging(settings.log_level, json_lines=False)
    return int(asyncio.run(args.handler(args, settings)))


if __name__ == "__main__":
    sys.exit(main())
