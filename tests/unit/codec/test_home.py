"""The data directory: one function works it out, an empty ZHIFU_HOME counts as unset, and no
other module reads the variable itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zhifu.codec.home import DEFAULT_HOME, HOME_ENV, data_home

SRC = Path(__file__).resolve().parents[3] / "src" / "zhifu"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, Path("var")),
        ({HOME_ENV: ""}, Path("var")),
        ({HOME_ENV: "/srv/zhifu"}, Path("/srv/zhifu")),
        ({HOME_ENV: "data/zhifu"}, Path("data/zhifu")),  # relative stays relative
        ({"HOME": "/root"}, Path("var")),
    ],
)
def test_data_home(environ: dict[str, str], expected: Path) -> None:
    assert data_home(environ) == expected


def test_data_home_reads_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert data_home() == tmp_path
    monkeypatch.setenv(HOME_ENV, "")
    assert data_home() == Path(DEFAULT_HOME)
    monkeypatch.delenv(HOME_ENV)
    assert data_home() == Path(DEFAULT_HOME)


def _modules_naming_the_variable() -> list[str]:
    """Modules with the variable's name as a string constant (a docstring may mention it)."""
    return sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == HOME_ENV
    )


def test_only_the_codec_names_the_variable() -> None:
    assert _modules_naming_the_variable() == ["codec/home.py"]
