"""Every scenario of docs/examples/clearing runs to the outcome kept beside it, and
docs/clearing.md shows each scenario with that outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zhifu.clearing.simulate import Scenario, run_scenario
from zhifu.clearing.xml_replay import run_scenario_xml

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "docs" / "examples" / "clearing"
SCENARIOS = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))
EVERY = [*SCENARIOS, ROOT / "docs" / "examples" / "clearing-day.json"]


def test_there_are_examples() -> None:
    assert SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_scenario_gives_its_expected_outcome(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    outcome = run_scenario(Scenario.from_mapping(json.loads(path.read_text(encoding="utf-8"))))
    for key, value in expected.items():
        assert outcome[key] == value, key


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_documentation_shows_it(path: Path) -> None:
    doc = (ROOT / "docs" / "clearing.md").read_text(encoding="utf-8")
    assert f"docs/examples/clearing/{path.name}" in doc or f"examples/clearing/{path.name}" in doc
    for text in (path, path.with_suffix(".expected.json")):
        assert text.read_text(encoding="utf-8").strip() in doc, text.name


@pytest.mark.parametrize("path", EVERY, ids=lambda p: p.stem)
def test_the_xml_centre_gives_the_same_outcome(path: Path) -> None:
    """Every item, receipt and request as a signed message: the same items, positions,
    settlements, answers to requests and checks as the engine called directly."""
    data = json.loads(path.read_text(encoding="utf-8"))
    direct = run_scenario(Scenario.from_mapping(data))
    through_xml = run_scenario_xml(Scenario.from_mapping(data))
    assert through_xml == direct
