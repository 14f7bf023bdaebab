"""BEPS clearing throughput: items netted per second, item by item and columnar.

``python -m bench.clearing [seconds] [--sizes 1000000,10000000]``. One synthetic day per size
(200 direct participants in 30 cities, the six business types, receipts, a holiday-free BEPS
date), generated as numpy columns (no Python objects for 10M). In the same run:

- columnar: :func:`zhifu.clearing.columnar.netting.net_day` over the whole day (statuses, rounds,
  bilateral and per-participant positions, settlements); caps ample (the cheap bound proves no
  cap can bind), and caps below the gross (the exact cap replay runs for every bank);
- item by item: :class:`zhifu.clearing.ClearingSystem` with the ledger, on the first items of
  the same day for about ``seconds`` (objects built beforehand, not timed);
- baseline: a plain Python dictionary loop adding each item to its bank pair, over the same
  items (no rules at all: the floor of what pure Python costs per item).
"""

from __future__ import annotations

import gc
import sys
import time
from datetime import datetime
from typing import Any

import numpy as np

from bench.harness import Row, print_table
from zhifu.clearing.calendar.days import ChineseCalendar
from zhifu.clearing.columnar.convert import random_day, scenario_from_day
from zhifu.clearing.columnar.instants import HOUR_US, to_us
from zhifu.clearing.columnar.netting import Day, ParticipantTable, net_day
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.model import NodeKind, Participant
from zhifu.clearing.simulate import replay
from zhifu.core.clock import SHANGHAI

BANKS = 200
CITIES = 30
START = datetime(2025, 10, 9, 16, 0, tzinfo=SHANGHAI)  # BEPS date 10 October, a Friday
TARGET_SECONDS = 10.0


def participants(cap: int) -> list[Participant]:
    caps = {NodeKind.NPC: cap, NodeKind.CCPC: cap}
    return [
        Participant(f"{100_000_000_000 + 1009 * i:012d}", f"{1000 + 100 * (i % CITIES)}", caps=caps)
        for i in range(BANKS)
    ]


def make_day(n: int) -> Day:
    return random_day(np.random.default_rng(n), n, BANKS, to_us(START), 24 * HOUR_US)


def time_columnar(day: Day, cap: int) -> tuple[float, Any]:
    table = ParticipantTable.of(participants(cap))
    end = to_us(datetime(2025, 10, 24, 16, 0, tzinfo=SHANGHAI))
    gc.collect()
    started = time.perf_counter()
    result = net_day(day, table, config=ClearingConfig(), cal=ChineseCalendar(), end_us=end)
    return time.perf_counter() - started, result


def tight_cap(day: Day) -> int:
    """A cap below every bank's gross payments (so the cheap bound fails for all of them) but,
    on these random days, above any running net debit (so no cap actually binds)."""
    gross = np.bincount(day.payer, minlength=BANKS).min() * int(day.amount.mean())
    return max(10_000_00, int(gross) // 4)


def time_dict_loop(day: Day) -> float:
    payer, payee, amount = day.payer.tolist(), day.payee.tolist(), day.amount.tolist()
    started = time.perf_counter()
    pairs: dict[tuple[int, int], int] = {}
    for p, q, a in zip(payer, payee, amount, strict=True):
        key, signed = ((p, q), -a) if p < q else ((q, p), a)
        pairs[key] = pairs.get(key, 0) + signed
    return time.perf_counter() - started


def time_item_by_item(day: Day, seconds: float) -> tuple[int, float]:
    """Items per run sized to about ``seconds``; returns (items, elapsed)."""
    count = 20_000
    while True:
        scenario = scenario_from_day(_head(day, count), participants(10**15), ClearingConfig())
        started = time.perf_counter()
        replay(scenario, ledger=True)
        took = time.perf_counter() - started
        if took >= seconds or count >= len(day):
            return count, took
        count = min(len(day), int(count * max(2.0, seconds / max(took, 1e-3))))


def _head(day: Day, count: int) -> Day:
    return Day(*(getattr(day, name)[:count] for name in Day.__dataclass_fields__))


def run(seconds: float = 3.0, sizes: tuple[int, ...] = (1_000_000, 10_000_000)) -> None:
    """Print the clearing table."""
    rows: list[Row] = []
    notes: list[str] = []
    for n in sizes:
        day = make_day(n)
        label = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n:,}"
        loop = n / time_dict_loop(day)
        ample, result = time_columnar(day, 10**15)
        netted = int((result.net_day >= 0).sum())
        rows.append(
            Row(f"columnar, {label} items (caps ample)", n / ample, "Python dict loop", loop)
        )
        tight, tight_result = time_columnar(day, tight_cap(day))  # the exact replay runs
        assert tight_result.exact, tight_result.why_not
        rows.append(
            Row(f"columnar, {label} items (exact cap replay)", n / tight, "Python dict loop", loop)
        )
        items, took = time_item_by_item(day, seconds)
        rows.append(Row(f"item by item + ledger, first {items:,} of {label}", items / took,
                        "Python dict loop", loop))  # fmt: skip
        notes.append(
            f"- {label}: columnar {ample:.2f} s (caps ample), {tight:.2f} s (exact cap replay); "
            f"{netted:,} items netted into {result.bilateral.height:,} bilateral positions"
        )
        if n >= 10_000_000:
            met = "met" if ample < TARGET_SECONDS else "NOT met"
            notes.append(f"- target: 10M items netted in < {TARGET_SECONDS:g} s: {met}")
        del day, result, tight_result
        gc.collect()
    print_table("BEPS clearing: items netted per second", rows)
    for line in notes:
        print(line)


if __name__ == "__main__":
    budget = float(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 3.0
    chosen = (1_000_000, 10_000_000)
    if "--sizes" in sys.argv:
        chosen = tuple(int(v) for v in sys.argv[sys.argv.index("--sizes") + 1].split(","))
    run(budget, chosen)
