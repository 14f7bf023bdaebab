"""The import table of style.md §8: no package imports one above it (or a sibling not listed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "zhifu"

# package -> the zhifu packages it may import (style.md §8, "Imports form a fixed graph").
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "crypto": {"core"},
    "security": {"core", "crypto"},
    "card": {"core", "crypto"},
    "iso8583": {"core", "card", "security"},
    "ledger": {"core"},
    "barcode": {"core", "crypto", "ledger"},
    "clearing": {"core", "security", "ledger"},
    "terminal": {"core", "crypto", "security", "card", "iso8583"},
    "issuer": {"core", "crypto", "security", "card", "ledger", "barcode"},
    "acquirer": {
        "core",
        "crypto",
        "security",
        "card",
        "iso8583",
        "ledger",
        "barcode",
        "clearing",
        "issuer",
    },
}
FACES = {"web", "cli"}
PACKAGES = set(ALLOWED) | FACES
# The faces may import anything below them; the CLI starts the web server, never the reverse.
FACE_MAY_IMPORT = {"web": set(ALLOWED), "cli": set(ALLOWED) | {"web"}}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "zhifu"]


def violations(root: Path = SRC) -> list[str]:
    """Every import that breaks the table, as 'file:line imports target'."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            continue  # zhifu/__init__.py
        pkg = rel.parts[0]
        for line, name in _imports(path):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else None
            if target is None or target == pkg:
                continue
            if pkg in FACES:
                ok = target in FACE_MAY_IMPORT[pkg]
            else:
                ok = target in ALLOWED.get(pkg, set())
            if not ok:
                bad.append(f"{rel}:{line} imports zhifu.{target}")
    return bad


def test_every_package_is_in_the_table() -> None:
    present = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert present <= PACKAGES, f"packages missing from the import table: {present - PACKAGES}"


def test_no_package_imports_one_above_it() -> None:
    assert violations() == []


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "bad.py").write_text("from zhifu.crypto import cipher\n")
    (tmp_path / "crypto").mkdir()
    (tmp_path / "crypto" / "ok.py").write_text("import zhifu.core.errors\n")
    (tmp_path / "crypto" / "face.py").write_text("from zhifu.cli import main\n")
    assert violations(tmp_path) == [
        "core/bad.py:1 imports zhifu.crypto",
        "crypto/face.py:1 imports zhifu.cli",
    ]


@pytest.mark.parametrize("pkg", sorted(ALLOWED))
def test_the_table_has_no_cycles(pkg: str) -> None:
    seen: set[str] = set()
    stack = list(ALLOWED[pkg])
    while stack:
        dep = stack.pop()
        assert dep != pkg, f"{pkg} reaches itself"
        if dep not in seen:
            seen.add(dep)
            stack.extend(ALLOWED[dep])
