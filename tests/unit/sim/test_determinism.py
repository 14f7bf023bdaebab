"""One seed, one event log: the same seed twice gives the same hash, another seed another."""

from __future__ import annotations

import pytest

from zhifu.sim import Faults, run_seed, runner, workload


def test_the_same_seed_gives_the_same_event_log() -> None:
    first = run_seed(9, steps=12, keep_log=True)
    again = run_seed(9, steps=12, keep_log=True)
    assert first.events == again.events
    assert first.event_log_hash == again.event_log_hash
    assert first.ok and again.ok, first.failures


def test_different_seeds_give_different_event_logs() -> None:
    assert run_seed(1, steps=12).event_log_hash != run_seed(2, steps=12).event_log_hash


def test_the_log_holds_no_card_number_and_the_result_says_how_to_rerun() -> None:
    result = run_seed(4, steps=10, faults=Faults.none(), keep_log=True)
    text = "\n".join(result.events)
    assert "622800" not in text  # no PAN, masked or not: PANs are not the seed's
    assert result.ok and result.repro.startswith("zhifu sim --seed 4 --steps 10 --faults ")
    assert result.stats["purchase"] >= 1


def test_an_error_that_escapes_fails_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(workload, "choose", broken)
    monkeypatch.setattr(runner, "choose", broken)
    result = run_seed(6, steps=5)
    assert not result.ok
    assert result.repro == "zhifu sim --seed 6 --steps 5  # error: RuntimeError escaped: a bug"
