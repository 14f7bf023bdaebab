"""The web layer only translates HTTP: no package below it imports an HTTP framework, server or
ASGI helper, no module of ``zhifu.web`` opens the database itself, and the barcode platform's
refusals have the shape of every error of the app."""

from __future__ import annotations

import ast
from pathlib import Path

from zhifu.barcode.api.errors import ERRORS, BarcodeError
from zhifu.web.errors import error_body

SRC = Path(__file__).resolve().parents[3] / "src" / "zhifu"
HTTP_PACKAGES = {"litestar", "starlette", "uvicorn", "httpx", "anyio", "h11", "httptools"}
ABOVE_WEB = {"web", "cli"}  # may import anything


def _imports(source: Path) -> set[str]:
    """The top-level names of the packages a module imports."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_no_package_below_the_web_imports_http() -> None:
    offenders = [
        f"{source.relative_to(SRC)}: {sorted(_imports(source) & HTTP_PACKAGES)}"
        for source in sorted(SRC.rglob("*.py"))
        if source.relative_to(SRC).parts[0] not in ABOVE_WEB and _imports(source) & HTTP_PACKAGES
    ]
    assert offenders == []


def test_the_web_opens_no_database() -> None:
    offenders = []
    for source in sorted((SRC / "web").rglob("*.py")):
        if {"sqlite3", "sqlalchemy", "psycopg"} & _imports(source):
            offenders.append(f"{source.relative_to(SRC)}: imports a database driver")
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("cursor", "execute", "connect"):
                offenders.append(f"{source.relative_to(SRC)}:{node.lineno}: .{node.attr}")
    assert offenders == []


def test_a_barcode_refusal_has_the_shape_of_every_web_error() -> None:
    for code, (_, meaning) in ERRORS.items():
        assert BarcodeError(code).body() == error_body(code, meaning)
