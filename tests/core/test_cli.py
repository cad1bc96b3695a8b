"""The `linli` command: `--version`, and help text with the default for every option of every command."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import HelpFormatter, build_parser
from app.core.models import Operator

ROOT = Path(__file__).parents[2]
LINLI = Path(sys.executable).parent / "linli"  # the console script `pip install` made


def _parsers(
    parser: argparse.ArgumentParser, name: str = "linli"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the command tree (domain commands included), with its command line."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, child in action.choices.items():
                yield from _parsers(child, f"{name} {command}")


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction | argparse._VersionAction)
    ]


def test_version_prints_the_project_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    result = subprocess.run([LINLI, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"linli {project['version']}\n"


def test_the_command_tree_is_complete() -> None:
    names = {name for name, _ in _parsers(build_parser())}
    assert {
        "linli serve",
        "linli create-operator",
        "linli openapi",
        "linli stores rebuild-geo",
        "linli demo",
    } <= names
    assert {"linli jobs list", "linli jobs run"} <= names


def test_every_command_and_option_has_help_and_every_optional_option_its_default() -> None:
    undocumented, without_default = [], []
    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                undocumented += [f"{name} {c.dest}" for c in action._choices_actions if not c.help]
        for option in _options(parser):
            label = f"{name} {option.option_strings[-1]}"
            if not option.help:
                undocumented.append(label)
                continue
            shown = HelpFormatter(name)._get_help_string(option) or ""
            if not option.required and ("default" not in shown or "(default: None)" in shown):
                without_default.append(f"{label}: {shown}")
    assert undocumented == []
    assert without_default == []


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("serve", ["(default: $LINLI_HOST, else 127.0.0.1)", "(default: $LINLI_PORT, else 8000)"]),
        ("openapi", ["(default: docs/openapi.json)"]),
        ("create-operator", ["(default: admin)", "(required)"]),
    ],
)
def test_help_shows_the_defaults(command: str, shown: list[str]) -> None:
    env = os.environ | {"COLUMNS": "200"}  # no line wrapping inside the phrases looked for
    result = subprocess.run(
        [LINLI, command, "--help"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    for phrase in shown:
        assert phrase in result.stdout


def test_roles_are_repeatable_and_not_added_to_the_default() -> None:
    parse = build_parser().parse_args
    base = ["create-operator", "--username", "ana"]
    assert parse(base).role is None  # the command grants admin
    assert parse([*base, "--role", "auditor", "--role", "approver"]).role == ["auditor", "approver"]


async def test_create_operator_grants_admin_by_default() -> None:
    env = os.environ | {"LINLI_OPERATOR_PASSWORD": "a-long-passphrase"}
    process = await asyncio.create_subprocess_exec(
        LINLI, "create-operator", "--username", "first-admin", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    operator = await Operator.get(username="first-admin")
    assert operator.roles == ["admin"]


def test_jobs_are_listed_and_one_runs_now_by_name() -> None:
    listed = subprocess.run([LINLI, "jobs", "list"], capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines()}
    assert {"loyalty.build_settlement", "loyalty.settlement_cron", "campaigns.tick"} <= names
    ran = subprocess.run(
        [LINLI, "jobs", "run", "loyalty.build_settlement", "--args", '["2026-12-04"]'],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ | {"LINLI_LOG_LEVEL": "WARNING"},
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().startswith("loyalty.build_settlement: done")
    unknown = subprocess.run([LINLI, "jobs", "run", "no.such"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "linli jobs list" in unknown.stderr
