"""Property tests on random days: the invariants hold, and the columnar path equals the
item-by-item engine (differential test, "Scale")."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zhifu.clearing.columnar.convert import random_day, run_scenario_columnar, scenario_from_day
from zhifu.clearing.columnar.instants import HOUR_US, to_us
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.model import NodeKind, Participant
from zhifu.clearing.reports import reconcile
from zhifu.clearing.simulate import replay, run_scenario
from zhifu.clearing.xml_replay import run_scenario_xml
from zhifu.core.clock import SHANGHAI

# Starts around National Day 2025 and the turn of a year, where the calendar matters most.
STARTS = (
    "2025-09-26T08:00",
    "2025-09-30T12:00",
    "2025-10-07T15:00",
    "2025-10-09T09:00",
    "2025-12-31T10:00",
    "2026-02-13T15:30",
)


def random_scenario(seed: int, n: int, tight: bool):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    count = int(rng.integers(2, 7))
    cap = int(rng.integers(5_000_00, 60_000_00)) if tight else 10**13
    banks: list[Participant] = []
    for i in range(count):
        city = ("1000", "2900", "5810")[i % 3]
        if i >= 2 and rng.random() < 0.3:
            banks.append(Participant(f"3{i:02d}100000000", city, direct=False, via=banks[0].code))
        else:
            caps = {NodeKind.NPC: cap, NodeKind.CCPC: cap}
            banks.append(Participant(f"1{i:02d}100000000", city, caps=caps))
    start = datetime.fromisoformat(STARTS[seed % len(STARTS)]).replace(tzinfo=SHANGHAI)
    span = int(rng.integers(1, 72)) * HOUR_US
    day = random_day(rng, n, count, to_us(start), span, amount_max=500_000 if tight else 6_000_000)
    if n and rng.random() < 0.1:
        day.payer[0] = -1  # an unknown bank code
    reserves = None
    if rng.random() < 0.2:  # some settlement accounts short of funds
        reserves = {p.code: int(rng.integers(0, 100_000_00)) for p in banks if p.direct}
    return scenario_from_day(day, banks, ClearingConfig(), reserves=reserves)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), tight=st.booleans())
def test_random_days_keep_the_invariants(seed: int, n: int, tight: bool) -> None:
    scenario = random_scenario(seed, n, tight)
    system, _requests = replay(scenario, ledger=False)
    system.check()  # every round's positions and the open nets sum to zero
    for day in {r.netted_round[0] for r in system.records.values() if r.netted_round}:
        assert reconcile(system, day).balanced
    settled = [r for r in system.rounds.values() if r.state.value == "settled"]
    assert sum(net for r in settled for net in r.nets.values()) == 0
    for record in system.records.values():
        assert (record.netted_round is not None) == (
            record.status.value in ("PR03", "PR04", "PR12")
        )


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80), tight=st.booleans())
def test_columnar_equals_item_by_item(seed: int, n: int, tight: bool) -> None:
    scenario = random_scenario(seed, n, tight)
    engine = run_scenario(scenario, ledger=False)
    columnar = run_scenario_columnar(scenario)
    for key in ("bilateral", "participants", "settlements"):
        assert columnar[key] == engine[key], key
    by_id = {i["id"]: i for i in engine["items"]}
    assert {i["id"]: i for i in columnar["items"]} == by_id


def test_the_columnar_path_runs_on_loose_caps_and_falls_back_when_a_cap_binds() -> None:
    paths = {run_scenario_columnar(random_scenario(seed, 60, True))["path"] for seed in range(40)}
    assert paths == {"columnar", "item-by-item"}
    assert run_scenario_columnar(random_scenario(1, 60, False))["path"] == "columnar"


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 25), tight=st.booleans())
def test_random_days_through_the_xml_centre_equal_the_engine(
    seed: int, n: int, tight: bool
) -> None:
    scenario = random_scenario(seed, n, tight)
    known = set(p.code for p in scenario.participants)
    assume(all(s.item.payer_bank in known and s.item.payee_bank in known for s in scenario.items))
    assert run_scenario_xml(random_scenario(seed, n, tight)) == run_scenario(scenario)
