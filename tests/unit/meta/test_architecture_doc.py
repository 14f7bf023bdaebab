"""``docs/architecture.md`` shows the import contract and the folder tree as they are."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "zhifu"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _block_after(marker: str) -> list[str]:
    """The lines of the fenced block that follows the HTML comment ``marker``."""
    rest = DOC.split(f"<!-- {marker}:", 1)[1]
    body = rest.split("```", 2)[1]
    return [line for line in body.splitlines() if line.strip()]


def _tree_paths() -> set[str]:
    """Folder paths of the tree block, rebuilt from its two-space indentation."""
    paths: set[str] = set()
    stack: list[str] = []
    for line in _block_after("tree")[1:]:
        depth = (len(line) - len(line.lstrip(" "))) // 2 - 1
        name = line.split()[0].rstrip("/")
        stack[depth:] = [name]
        paths.add("/".join(stack))
    return paths


def test_the_layers_are_the_contracts_layers() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["id"] == "layers")
    assert _block_after("layers") == layers


def test_the_tree_names_every_package_and_nothing_else() -> None:
    packages = {str(p.parent.relative_to(SRC)) for p in SRC.rglob("__init__.py") if p.parent != SRC}
    data_folders = {"card/profiles", "clearing/xsd", "web/static"}
    assert _tree_paths() == packages | data_folders


def test_every_package_says_what_it_is_for() -> None:
    silent = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("__init__.py")
        if not re.match(r'\s*"""\S', p.read_text(encoding="utf-8"))
    ]
    assert silent == []
