"""Every third-party import of the shipped packages is a runtime dependency declared in pyproject.toml.

`pip install .` (no extras) must give a working server, so a module under app/ or a domain package may
import only what `[project] dependencies` brings: a distribution named there, or one pulled in by an
extra named there (`redis[hiredis]` → hiredis, `uvicorn[standard]` → uvloop). Imports inside functions
count too: `linli serve` and `linli worker` import uvicorn and uvloop lazily.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]
SHIPPED = ("app", "merchants", "loyalty", "campaigns", "miniprogram_api")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def _declared_distributions() -> set[str]:
    """Distributions named by the runtime requirements, plus those their requested extras add."""
    declared: set[str] = set()
    for requirement in _runtime_requirements():
        declared.add(_normalise(requirement.name))
        for extra in requirement.extras:
            for line in metadata.requires(requirement.name) or []:
                child = Requirement(line)
                if child.marker is not None and child.marker.evaluate({"extra": extra}):
                    if child.marker.evaluate({"extra": ""}):
                        continue  # an unconditional requirement, not one the extra adds
                    declared.add(_normalise(child.name))
    return declared


def _imported_modules() -> dict[str, set[str]]:
    """Top-level module names imported anywhere in the shipped packages → the files importing them."""
    found: dict[str, set[str]] = {}
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.partition(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def _third_party(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    return {
        name: files
        for name, files in modules.items()
        if name not in sys.stdlib_module_names and name not in SHIPPED
    }


def test_the_scan_sees_the_imports_it_must_judge() -> None:
    modules = _third_party(_imported_modules())
    # module-level imports, lazy ones inside functions, and one that only an extra provides
    assert {"fastapi", "tortoise", "httpx", "uvicorn", "uvloop", "hiredis"} <= modules.keys()
    assert "os" not in modules and "app" not in modules


def test_every_third_party_import_is_a_declared_runtime_dependency() -> None:
    declared = _declared_distributions()
    owners = metadata.packages_distributions()
    undeclared = []
    for module, files in sorted(_third_party(_imported_modules()).items()):
        distributions = {_normalise(d) for d in owners.get(module, [])}
        if not distributions & declared:
            undeclared.append(f"{module} (from {', '.join(sorted(distributions)) or '?'}) in {sorted(files)}")
    assert not undeclared, "add to [project] dependencies in pyproject.toml:\n" + "\n".join(undeclared)


def test_no_runtime_requirement_hides_in_the_dev_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_normalise(r.name) for r in _runtime_requirements()}
    dev = {_normalise(Requirement(line).name) for line in project["optional-dependencies"]["dev"]}
    assert runtime & dev == set()
