"""The import contract of ``pyproject.toml`` (docs/architecture.md), checked by import-linter.

``make lint`` runs ``lint-imports``; these tests run the same tool on the tree as it is, and on a
copy with an upward import planted, to show that the contract is not one that cannot fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "zhifu"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _copy_tree(tmp_path: Path) -> Path:
    copy = tmp_path / "zhifu"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.xsd"))
    return copy


def test_the_tree_keeps_every_contract() -> None:
    result = _lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("core/money.py", "import zhifu.cli.main\n", "import only downward"),
        ("codec/pan.py", "from zhifu.card.apdu import CommandApdu\n", "import only downward"),
        ("ledger/model.py", "import zhifu.crypto.kcv\n", "ledger sees only core"),
        ("barcode/model.py", "import zhifu.security.secrets\n", "barcode payments do not use"),
        ("card/apdu.py", "import zhifu.security.keys\n", "import only downward"),
    ],
)
def test_a_planted_import_breaks_the_contract(
    tmp_path: Path, module: str, planted: str, contract: str
) -> None:
    copy = _copy_tree(tmp_path)
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + planted, encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout


def test_every_package_is_in_the_contract() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    layers = text.split("layers = [", 1)[1].split("]", 1)[0]
    present = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    missing = {name for name in present if not re.search(rf"\b{name}\b", layers)}
    assert missing == set(), f"packages the layers contract does not name: {missing}"
