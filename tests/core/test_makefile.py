"""`make run` installs the runtime dependencies only; `make test` adds the dev extra."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _planned(target: str) -> list[str]:
    """The commands `make TARGET` would run from scratch (`-n`: printed, not run; `-B`: every stamp stale)."""
    # Not the flags of a `make test` this may be running under (-j would interleave the plan).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(
        ["make", "-n", "-B", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.splitlines()


def _installs(commands: list[str]) -> list[str]:
    return [c for c in commands if "pip install" in c]


def test_make_run_installs_the_runtime_dependencies_only() -> None:
    commands = _planned("run")
    assert _installs(commands) == [".venv/bin/python -m pip install --quiet -e ."]
    assert commands[-2:] == [".venv/bin/linli migrate", ".venv/bin/linli serve"]


def test_make_test_adds_the_dev_extra() -> None:
    commands = _planned("test")
    assert _installs(commands) == [
        ".venv/bin/python -m pip install --quiet -e .",
        ".venv/bin/python -m pip install --quiet -e '.[dev]'",
    ]
    assert any(c.startswith(".venv/bin/pytest") for c in commands)
