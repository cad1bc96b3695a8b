"""The `linli` command: serve, worker, migrate, create-operator and domain maintenance commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import importlib.metadata
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
    roles = [OperatorRole(r) for r in args.role or ["admin"]]

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


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Seed the demo city and print what to try next."""
    from app.demo import next_steps, seed_demo

    async def run() -> int:
        seeded = await seed_demo(settings)
        print(next_steps(seeded, f"http://{settings.host}:{settings.port}"))
        return 0

    return await with_stores(settings, run, redis=True)


def version() -> str:
    """The installed distribution's version (pyproject.toml `[project] version`)."""
    try:
        return importlib.metadata.version("linli")
    except importlib.metadata.PackageNotFoundError:  # running from a tree that was never installed
        return "unknown"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's formatter appending `(default: …)` to an option's help, unless the help states its default
    itself or the option is required.

    Options whose value falls back to a setting say so themselves (`default: $LINLI_PORT, else 8000`).
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.help and ("default" in action.help or action.required):
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """Every parser and subparser (domain commands' too) shows the defaults in its help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def _setting(name: str) -> str:
    """`$LINLI_NAME, else <its default>`: what an option left out falls back to."""
    return f"$LINLI_{name.upper()}, else {Settings.model_fields[name].default}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = ArgumentParser(prog="linli", description="Linli platform command line")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the HTTP API", description="Serve the HTTP API with uvicorn.")
    serve.add_argument("--host", help=f"address to bind (default: {_setting('host')})")
    serve.add_argument("--port", type=int, help=f"port to bind (default: {_setting('port')})")
    serve.add_argument("--workers", type=int, help=f"API processes to start (default: {_setting('workers')})")
    serve.set_defaults(sync_handler=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run an arq job worker", description="Run a standalone job worker."
    )
    worker.set_defaults(sync_handler=cmd_worker)

    migrate = sub.add_parser(
        "migrate", help="apply database migrations", description="Apply pending database migrations."
    )
    migrate.set_defaults(handler=cmd_migrate)

    create_op = sub.add_parser(
        "create-operator",
        help="create a bank operator",
        description="Create a bank operator (bootstraps the first admin).",
    )
    create_op.add_argument("--username", required=True, help="login name of the new operator (required)")
    create_op.add_argument(
        "--password",
        help="password (default: $LINLI_OPERATOR_PASSWORD, else asked for at a prompt)",
    )
    create_op.add_argument("--display-name", default="", help="the operator's display name (default: empty)")
    create_op.add_argument(
        "--role",
        action="append",
        choices=["admin", "grid_manager", "campaign_manager", "approver", "auditor"],
        help="role to grant, repeat for several (default: admin)",
    )
    create_op.set_defaults(handler=cmd_create_operator)

    demo = sub.add_parser(
        "demo",
        help="seed a demo city to try every scenario",
        description="Seed a small city (grids, merchants, members, benefits, one campaign of each type "
        "with a live flash sale, a simulated biller) on the configured stores; running it again adds "
        "nothing. Development only.",
    )
    demo.set_defaults(handler=cmd_demo)

    openapi = sub.add_parser(
        "openapi", help="export the OpenAPI document", description="Write the OpenAPI document to a file."
    )
    openapi.add_argument("--output", default="docs/openapi.json", help="file to write")
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
    if hasattr(args, "sync_handler"):
        return int(args.sync_handler(args, settings))
    configure_logging(settings.log_level, json_lines=False)
    return int(asyncio.run(args.handler(args, settings)))


if __name__ == "__main__":
    sys.exit(main())
