"""The modules of ``zhifu.clearing`` import each other without a cycle.

import-linter checks the layers between packages; inside one package nothing did, and two
columnar modules once imported each other (one of them only for type checking). The graph here
is read from the source with ``ast``: every ``import`` and ``from ... import`` naming a module of
the package, wherever it stands (``if TYPE_CHECKING:`` blocks and function bodies included).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Set
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
PACKAGE = "zhifu.clearing"


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / PACKAGE.replace(".", "/")).rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, modules: Set[str]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                out.add(target if target in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out & modules


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules.keys()) - {name} for name, path in modules.items()}


def cycles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_detector_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_type_checking_imports() -> None:
    graph = import_graph()
    assert "zhifu.clearing.columnar.participants" in graph["zhifu.clearing.columnar.caps"]
    assert "zhifu.clearing.engine" in graph["zhifu.clearing.transport"]


def test_clearing_modules_import_without_cycles() -> None:
    assert cycles(import_graph()) == []
