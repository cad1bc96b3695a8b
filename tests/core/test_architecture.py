"""The floor plan holds: no import cycles, routers query through services (`make lint` runs the contracts)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "merchants", "loyalty", "campaigns", "miniprogram_api")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), imports inside functions included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_the_product_has_no_import_cycles() -> None:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a.one", "a.two", "a.three"):
        graph.add_module(module)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.three")
    graph.add_import(importer="a.three", imported="a.one")
    assert cycles(graph) == [["a.one", "a.three", "a.two"]]


ORM_CALLS = {"filter", "get", "get_or_none", "all", "create", "exists", "exclude", "first", "get_or_create"}


def orm_calls(source: str) -> list[str]:
    """`Model.filter(...)`-style calls on classes imported from a models module."""
    tree = ast.parse(source)
    models = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("models")
        for alias in node.names
        if alias.name[:1].isupper()
    }
    return [
        f"{node.lineno}: {node.func.value.id}.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in models
        and node.func.attr in ORM_CALLS
    ]


def test_routers_query_through_services_and_repositories() -> None:
    routers = [
        *ROOT.glob("*/router_*.py"),
        *ROOT.glob("app/core/router_*.py"),
        *ROOT.glob("miniprogram_api/*.py"),
        *ROOT.glob("miniprogram_api/billpay/router_*.py"),
    ]
    assert len(routers) > 15
    found = {str(path.relative_to(ROOT)): orm_calls(path.read_text()) for path in routers}
    assert {path: calls for path, calls in found.items() if calls} == {}


def test_the_router_check_sees_a_query() -> None:
    assert orm_calls("from x.models import Shop\n\nasync def f():\n    return await Shop.filter(id=1)\n") == [
        "4: Shop.filter"
    ]
