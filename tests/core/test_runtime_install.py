"""A runtime-only install (`pip install .`, no extras) in a fresh virtualenv builds the app.

About 25 s with a warm pip cache (a new virtualenv and every runtime dependency installed into it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# Local state, caches and build leftovers a fresh clone would not have.
_NOT_SHIPPED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "build",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
)

CHECK = """
import importlib.util, sys
from pathlib import Path
import app
from app.main import create_app
app_ = create_app()
assert Path(app.__file__).is_relative_to(Path(sys.prefix)), app.__file__
dev_only = [name for name in ("pytest", "hypothesis", "locust", "mypy") if importlib.util.find_spec(name)]
assert dev_only == [], dev_only
print("routes", len(app_.routes))
"""


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="linli-runtime-install-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _clean_env(home: Path) -> dict[str, str]:
    """The caller's pip configuration (package index, wheel cache) and nothing of the test's settings."""
    keep = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in ("PATH", "HOME", "LANG")}
    return keep | {"LINLI_VAR_DIR": str(home / "var"), "PYTHONDONTWRITEBYTECODE": "1"}


def _run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=540, check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_a_runtime_only_install_builds_the_app(workdir: Path) -> None:
    source = workdir / "linli"
    shutil.copytree(ROOT, source, ignore=_NOT_SHIPPED)
    env = _clean_env(workdir)
    venv = workdir / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=workdir, env=env)
    python = venv / "bin" / "python"

    _run([python, "-m", "pip", "install", "--quiet", source], cwd=workdir, env=env)

    # Run from outside the source tree so `app` can only come from the installed package.
    out = _run([python, "-c", CHECK], cwd=workdir, env=env)
    assert out.startswith("routes ")
    assert "usage: linli" in _run([venv / "bin" / "linli", "--help"], cwd=workdir, env=env)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert _run([venv / "bin" / "linli", "--version"], cwd=workdir, env=env) == f"linli {version}\n"
