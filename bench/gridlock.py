"""Gridlock resolution: 10,000 queued items across 50 banks at one node.

``python -m bench gridlock``. Every bank's cap is set below its first queued payment, so no
queue can move on its own; the resolver (:mod:`zhifu.clearing.gridlock`) finds the largest
set that nets together. In the same run:

- the resolver alone (queues as ``(payee, amount)`` lists), against a naive version of the
  same removal rule that recomputes every bank's balance after each removal (what one would
  write first; quadratic);
- the engine's whole step (:meth:`ClearingSystem.resolve_gridlock`: the resolver, netting the
  released items into the round's positions, marking their records), against netting the
  same items the ordinary way as they arrive (``submit_item`` with ample caps).

Rows are resolutions per second; the label gives the time of one in milliseconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime

from bench.harness import Row, print_table
from zhifu.clearing.codes import BusinessType
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.gridlock import Payment, resolve
from zhifu.clearing.model import Item, NodeKind, Participant
from zhifu.clearing.settlement import MemoryBooks
from zhifu.core.clock import SHANGHAI

BANKS, ITEMS = 50, 10_000
CAP = 100_000_00  # fen: below most banks' net outflow, so the resolver has to cut
AT = datetime(2025, 10, 9, 9, 30, tzinfo=SHANGHAI)


def _codes() -> list[str]:
    return [f"1{n:02d}{n % 30:04d}00000" for n in range(BANKS)]


def _orders(seed: int = 7) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    orders = []
    for _ in range(ITEMS):
        payer = rng.randrange(BANKS)
        payee = (payer + 1 + rng.randrange(BANKS - 1)) % BANKS
        orders.append((payer, payee, rng.randrange(1_00, 50_000_00)))
    return orders


def _system(cap: int = 0, only: set[str] | None = None) -> ClearingSystem:
    """The engine with the items submitted under ``cap`` (0: every one queues)."""
    codes = _codes()
    banks = [
        Participant(code, f"{n + 1000:04d}", caps={NodeKind.NPC: cap})
        for n, code in enumerate(codes)
    ]
    system = ClearingSystem(banks, start=AT, books=MemoryBooks())
    for n, (payer, payee, fen) in enumerate(_orders()):
        if only is None or f"G{n}" in only:
            system.submit_item(
                Item(f"G{n}", BusinessType.ORDINARY_CREDIT, codes[payer], codes[payee], fen)
            )
    return system


def _queued() -> ClearingSystem:
    """Every item queued (caps 0 while they arrive), then caps of 100,000.00: gridlock."""
    system = _system()
    for code in _codes():
        system.book.caps[code, "NPC"] = CAP
    return system


def _naive(queues: dict[str, list[Payment]], available: dict[str, int]) -> dict[str, int]:
    take = {bank: len(queue) for bank, queue in queues.items()}
    while True:
        room = dict(available)
        for bank, queue in queues.items():
            for payee, amount in queue[: take[bank]]:
                room[bank] -= amount
                room[payee] += amount
        short = [b for b in queues if take[b] and room[b] < 0]
        if not short:
            return take
        for bank in short:
            take[bank] -= 1


def _timed(fn: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure() -> dict[str, float]:
    """Seconds per resolution: resolver, naive resolver, engine step, ordinary release pass."""
    system = _queued()
    book = system.book
    queues = {bank: [(e.payee, e.amount) for e in q] for (bank, _), q in book.queues.items()}
    available = {bank: book.available(bank, "NPC") for bank in _codes()}
    take = resolve(queues, available)
    assert take == _naive(queues, available), "the two resolvers disagree"
    released = sum(take.values())
    steps, ordinary = [], []
    for _ in range(3):
        fresh = _queued()
        steps.append(_timed(fresh.resolve_gridlock, 1))
        fresh.check()
        assert sum(len(q) for q in fresh.book.queues.values()) <= ITEMS - released
        netted = {i for i, r in fresh.records.items() if r.netted_round is not None}
        start = time.perf_counter()
        _system(10**15, netted)
        ordinary.append(time.perf_counter() - start)
    return {
        "resolver": _timed(lambda: resolve(queues, available)),
        "naive": _timed(lambda: _naive(queues, available), 1),
        "engine": min(steps),
        "ordinary": min(ordinary),
        "released": float(released),
    }


def run() -> None:
    """Measure and print the gridlock table."""
    f = measure()
    what = f"{ITEMS:,} queued items, {BANKS} banks, {f['released']:.0f} released"
    rows = [
        Row(
            f"resolver alone, {what} ({f['resolver'] * 1000:.1f} ms)",
            1 / f["resolver"],
            f"naive removal, recomputing balances ({f['naive'] * 1000:.0f} ms)",
            1 / f["naive"],
        ),
        Row(
            f"engine resolve_gridlock: resolver + netting + records ({f['engine'] * 1000:.1f} ms)",
            1 / f["engine"],
            f"the same items netted as they arrive ({f['ordinary'] * 1000:.0f} ms)",
            1 / f["ordinary"],
        ),
    ]
    print_table("Gridlock resolution: resolutions per second (one node)", rows)


if __name__ == "__main__":
    run()
