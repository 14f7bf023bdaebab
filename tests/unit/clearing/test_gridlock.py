"""Gridlock resolution: the resolver against brute force, and the engine releasing queues that
only clear together while every bank stays within its cap."""

from __future__ import annotations

import itertools
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.clearing.codes import BusinessType
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.gridlock import Payment, balances_after, resolve
from zhifu.clearing.model import Item, NodeKind, Participant, Status
from zhifu.clearing.settlement import MemoryBooks
from zhifu.core.clock import SHANGHAI

BANKS = "ABCD"


def feasible(
    queues: dict[str, list[Payment]], available: dict[str, int], take: dict[str, int]
) -> bool:
    room = balances_after(queues, available, take)
    return all(room[bank] >= 0 for bank in queues if take[bank] > 0)


queues_strategy = st.dictionaries(
    st.sampled_from(BANKS),
    st.lists(st.tuples(st.sampled_from(BANKS), st.integers(1, 100)), max_size=4),
    min_size=1,
).map(lambda q: {b: [(p, a) for p, a in items if p != b] for b, items in q.items()})


@settings(max_examples=300, deadline=None)
@given(queues=queues_strategy, rooms=st.lists(st.integers(-20, 120), min_size=4, max_size=4))
def test_the_resolver_finds_the_largest_feasible_prefixes(
    queues: dict[str, list[Payment]], rooms: list[int]
) -> None:
    available = dict(zip(BANKS, rooms, strict=True))
    take = resolve(queues, available)
    assert set(take) == set(queues)
    assert all(0 <= take[b] <= len(queues[b]) for b in queues)
    assert feasible(queues, available, take)  # every bank within its cap
    # brute force over every choice of prefixes: none feasible releases more, and the
    # resolver's choice contains every feasible one (the greatest element)
    banks = sorted(queues)
    for choice in itertools.product(*(range(len(queues[b]) + 1) for b in banks)):
        other = dict(zip(banks, choice, strict=True))
        if feasible(queues, available, other):
            assert all(other[b] <= take[b] for b in banks), (other, take)


def test_a_cycle_clears_only_together() -> None:
    queues = {"A": [("B", 150)], "B": [("C", 150)], "C": [("A", 150)]}
    assert resolve(queues, dict.fromkeys("ABC", 100)) == {"A": 1, "B": 1, "C": 1}
    assert resolve(queues, {"A": 100, "B": 100, "C": -1}) == {"A": 0, "B": 0, "C": 0}


AT = datetime(2025, 10, 9, 9, 30, tzinfo=SHANGHAI)
CODES = ("102100099996", "103290000002", "104581000003")


def three_banks(*, at_close: bool = True) -> ClearingSystem:
    caps = {NodeKind.NPC: 100_00, NodeKind.CCPC: 100_00}
    banks = [
        Participant(code, city, caps=caps)
        for code, city in zip(CODES, ("1000", "2900", "5810"), strict=True)
    ]
    system = ClearingSystem(
        banks, start=AT, config=ClearingConfig(gridlock_at_close=at_close), books=MemoryBooks()
    )
    for code in CODES:
        system.books.fund(code, 1_000_000_00)
    return system


def credit(item_id: str, payer: int, payee: int, fen: int) -> Item:
    return Item(item_id, BusinessType.ORDINARY_CREDIT, CODES[payer], CODES[payee], fen)


def assert_within_caps(system: ClearingSystem) -> None:
    for code in CODES:
        assert system.book.available(code, "NPC") >= 0, code


def test_three_queues_are_released_together_within_every_cap() -> None:
    system = three_banks(at_close=False)
    for n, (payer, payee) in enumerate(((0, 1), (1, 2), (2, 0))):
        assert system.submit_item(credit(f"Q{n}", payer, payee, 150_00)).status is Status.QUEUED
        assert_within_caps(system)
    released = system.resolve_gridlock()
    assert sorted(r.item_id for r in released) == ["Q0", "Q1", "Q2"]
    assert all(system.status(f"Q{n}").status is Status.NETTED for n in range(3))
    assert_within_caps(system)
    system.check()
    assert system.resolve_gridlock() == []  # nothing left to resolve


def test_the_round_close_resolves_gridlock_unless_configured_off() -> None:
    for at_close, expected in ((True, Status.SETTLED), (False, Status.QUEUED)):
        system = three_banks(at_close=at_close)
        for n, (payer, payee) in enumerate(((0, 1), (1, 2), (2, 0))):
            system.submit_item(credit(f"Q{n}", payer, payee, 150_00))
        system.close_round()
        assert system.status("Q0").status is expected
        system.check()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(1, 250_00)), max_size=25)
)
def test_random_queues_stay_within_caps_at_every_step(
    orders: list[tuple[int, int, int]],
) -> None:
    system = three_banks(at_close=False)
    for n, (payer, payee, fen) in enumerate(orders):
        if payer != payee:
            system.submit_item(credit(f"I{n}", payer, payee, fen))
            assert_within_caps(system)
    queued = set(system.book.queued_ids())
    released = {r.item_id for r in system.resolve_gridlock()}
    assert released <= queued
    assert_within_caps(system)
    system.check()
    for key, queue in system.book.queues.items():  # what stays queued cannot fit at its head
        assert queue[0].amount > system.book.available(*key)
