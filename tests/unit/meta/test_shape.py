"""Small, checked shape (docs/standards/style.md habit 10): modules under 600 lines, no floats for
money."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "zhifu"
MAX_MODULE_LINES = 600
# Packages where money lives: no float or Decimal arithmetic there (docs/standards/style.md habit
# 4).
MONEY_PACKAGES = ("ledger", "clearing", "issuer", "compliance")


def test_no_module_over_600_lines() -> None:
    big = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert big == {}


def test_no_float_in_money_packages() -> None:
    pattern = re.compile(r"\bfloat\(|\bDecimal\(|: float\b")
    hits = [
        f"{p.relative_to(SRC)}:{i}"
        for pkg in MONEY_PACKAGES
        for p in (SRC / pkg).rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []
