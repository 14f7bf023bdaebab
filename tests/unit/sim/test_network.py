"""The simulated network and the fault injector decide the same way for the same seed."""

from __future__ import annotations

import random

import pytest

from zhifu.core.errors import UsageError
from zhifu.sim.faults import CRASH_POINTS, DISK_POINTS, Injector
from zhifu.sim.network import TIMEOUT_MS, EventQueue, Faults, Network

SOME = Faults(drop=0.2, duplicate=0.2, late=0.2, crash=0.1, disk=0.1)


def _plans(seed: int, faults: Faults = SOME, count: int = 200) -> list[list[int]]:
    network = Network(random.Random(seed), faults)
    return [network.plan(at * 10) for at in range(count)]


def test_the_same_seed_gives_the_same_fates() -> None:
    assert _plans(42) == _plans(42)


def test_different_seeds_give_different_fates() -> None:
    assert _plans(1) != _plans(2)


def test_every_fault_happens_and_has_its_shape() -> None:
    plans = _plans(7, count=2_000)
    lost = [p for p in plans if not p]
    twice = [p for p in plans if len(p) == 2]
    late = [(n, p) for n, p in enumerate(plans) if p and p[0] - n * 10 > TIMEOUT_MS]
    assert lost and twice and late
    assert all(second > first for first, second in twice)


def test_a_healed_network_delivers_everything_once_and_soon() -> None:
    for n, plan in enumerate(_plans(3, Faults.none())):
        assert len(plan) == 1 and 0 < plan[0] - n * 10 < TIMEOUT_MS


def test_certain_faults() -> None:
    assert _plans(5, Faults(drop=1.0), 20) == [[]] * 20
    assert all(len(p) == 2 for p in _plans(5, Faults(drop=0.0, duplicate=1.0), 20))


def test_the_injector_arms_the_same_faults_for_the_same_seed() -> None:
    def armed(seed: int) -> list[str | None]:
        injector = Injector(random.Random(seed), SOME)
        return [injector.arm() for _ in range(500)]

    first = armed(11)
    assert first == armed(11) and first != armed(12)
    points = {name.split(":", 1)[1] for name in first if name}
    assert points <= set(CRASH_POINTS) | set(DISK_POINTS)
    assert len(points) > 6


def test_a_healed_injector_arms_nothing() -> None:
    injector = Injector(random.Random(1), Faults.none())
    assert {injector.arm() for _ in range(100)} == {None}


def test_the_queue_keeps_time_order_then_push_order() -> None:
    queue: EventQueue[str] = EventQueue()
    for at, name in [(5, "c"), (1, "a"), (5, "d"), (3, "b")]:
        queue.push(at, name)
    assert [queue.pop() for _ in range(len(queue))] == [(1, "a"), (3, "b"), (5, "c"), (5, "d")]


def test_faults_parse_and_print() -> None:
    faults = Faults.parse("drop=0.5,disk=0")
    assert faults.drop == 0.5 and faults.disk == 0 and faults.crash == Faults().crash
    assert Faults.parse(faults.text()) == faults
    assert Faults.parse("default") == Faults() and Faults.parse("none") == Faults.none()
    for bad in ("drop=2", "drop=x", "flood=0.1"):
        with pytest.raises(UsageError):
            Faults.parse(bad)
