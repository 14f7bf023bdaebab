"""Every ``zhifu.…`` path the README and the docs show can be imported (a module, or a name in one).

A move of a module must carry the docs along; packages the import contract keeps a place for
before they exist (its optional layers, such as ``(terminal)``) are allowed to be named early.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
DOTTED = re.compile(r"\bzhifu(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
FILE_SUFFIXES = {"toml", "json", "md", "db", "csv", "png", "txt", "log"}


def _planned() -> set[str]:
    """Packages in the optional layers of the import contract: named before they exist."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    return set(re.findall(r"\((\w+)\)", " ".join(layers["layers"])))


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    module: ModuleType | None = None
    depth = len(parts)
    while depth and module is None:
        try:
            module = importlib.import_module(".".join(parts[:depth]))
        except ImportError:
            depth -= 1
    obj: object = module
    for name in parts[depth:]:
        if not hasattr(obj, name):
            return False
        obj = getattr(obj, name)
    return module is not None


def _mentions() -> list[tuple[str, str]]:
    return sorted(
        {
            (doc.relative_to(ROOT).as_posix(), name)
            for doc in DOCS
            for name in DOTTED.findall(doc.read_text(encoding="utf-8"))
            if name.rsplit(".", 1)[1] not in FILE_SUFFIXES  # a file's name, not a module
        }
    )


@pytest.mark.parametrize(("doc", "dotted"), _mentions())
def test_the_path_imports(doc: str, dotted: str) -> None:
    if dotted.split(".")[1] in _planned() and not _resolves(f"zhifu.{dotted.split('.')[1]}"):
        pytest.skip(
            f"zhifu.{dotted.split('.')[1]} has its place in the contract but is not built yet"
        )
    assert _resolves(dotted), f"{doc} names {dotted}, which does not import"
