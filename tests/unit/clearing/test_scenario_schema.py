"""The table of a scenario's keys (zhifu.clearing.scenario_schema) against the readers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zhifu.clearing import config
from zhifu.clearing.codes import BusinessType
from zhifu.clearing.demo import DEMO
from zhifu.clearing.model import NodeKind
from zhifu.clearing.scenario_schema import EVENT_KINDS, SHAPES, check_scenario
from zhifu.clearing.simulate import Scenario
from zhifu.core.errors import UsageError

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "clearing-day.json"


def test_every_kind_names_a_scalar_or_a_shape() -> None:
    for shape, fields in SHAPES.items():
        for key, kind in fields.items():
            base = re.sub(r"^\[(.*)\]$", r"\1", kind.rstrip("!?"))
            assert base in {"text", "int", "bool", "event", *SHAPES}, (shape, key, kind)
    assert {f"event.{kind}" for kind in EVENT_KINDS} <= set(SHAPES)


def test_the_table_follows_the_readers() -> None:
    assert set(SHAPES["config"]) == config._KEYS
    assert set(SHAPES["limits"]) == {b.value for b in BusinessType}
    assert set(SHAPES["caps"]) == {n.value for n in NodeKind}


@pytest.mark.parametrize("data", [DEMO, json.loads(EXAMPLE.read_text())], ids=["demo", "docs"])
def test_the_shipped_scenarios_fit(data: dict[str, object]) -> None:
    check_scenario(data)
    Scenario.from_mapping(data)


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        (
            {"participants": [{"code": "102100099996", "city": "1000", "cap": {}}]},
            "participants[0].cap",
        ),
        ({"items": [{"idd": "x"}]}, "items[0].idd"),
        (
            {"events": [{"type": "fund", "time": "t", "bank": "b", "amount": "1", "x": 1}]},
            "events[0].x",
        ),
        ({"config": {"limits": {"ordinary_credits": "1.00"}}}, "config.limits.ordinary_credits"),
    ],
)
def test_an_unknown_key_is_refused_at_its_path(patch: dict[str, object], path: str) -> None:
    with pytest.raises(UsageError) as refused:
        check_scenario(patch)
    assert refused.value.argument == path
    assert refused.value.message.startswith("unknown key")
