"""The simulate example of docs/clearing.md runs and gives the documented output."""

from __future__ import annotations

import json
import re
from pathlib import Path

from zhifu.clearing.simulate import Scenario, run_scenario

DOC = Path(__file__).resolve().parents[3] / "docs" / "clearing.md"


def test_documented_example() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    scenario = json.loads(blocks[1])  # blocks[0] is the calendar file example
    documented = blocks[2]
    out = run_scenario(Scenario.from_mapping(scenario))
    for key in ("items", "bilateral", "settlements"):
        for row in out[key]:
            assert json.dumps(row, ensure_ascii=False) in documented
    assert out["checks"] == {
        "positions_sum_to_zero": True,
        "books_balanced": True,
        "reconciled": True,
        "customers_reconciled": True,
    }
