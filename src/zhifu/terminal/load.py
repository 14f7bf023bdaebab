"""A load of virtual terminals over TCP: a paced mix of transactions, latency by kind.

:func:`run_load` drives :class:`~zhifu.terminal.AsyncTerminal` objects (already initialised and
with their cards) in one event loop: each sends its transactions one after the other, paced so
that all of them together aim at ``tps`` per second, each kind drawn from ``mix`` with a seeded
random source, for ``duration`` seconds. Every transaction's latency is what the terminal saw,
from the request to the end of the exchange (the card's work included). :class:`LoadReport`
gives per kind: count, approved, rate, p50/p95/p99 (milliseconds), and the errors seen.

>>> parse_mix("purchase=70,balance=10,tap=20")
{'purchase': 70, 'balance': 10, 'tap': 20}
>>> percentile([5.0, 1.0, 3.0], 0.5)
3.0
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from zhifu.core.errors import UsageError
from zhifu.terminal.aio import AsyncTerminal
from zhifu.terminal.link import NoAnswerError

__all__ = ["KINDS", "KindStats", "LoadReport", "parse_mix", "percentile", "run_load"]

KINDS: Final = ("purchase", "balance", "tap", "swipe", "qr")
"""What a load can send: a contact purchase, a balance inquiry, a contactless purchase, a
fallback swipe — the terminal's — and ``qr``, a barcode payment the caller provides (a wallet
paying a merchant's code over HTTP: :data:`Extra`)."""
TERMINAL_KINDS: Final = ("purchase", "balance", "tap", "swipe")

Extra = Mapping[str, Callable[[int], Awaitable[bool]]]
"""Kinds the caller performs itself: kind -> a coroutine function of the virtual terminal's
index (each index runs its transactions one after the other) that says whether it was
approved."""


def parse_mix(text: str) -> dict[str, int]:
    """``purchase=70,balance=10,tap=20`` → weights by kind (each ≥ 0, some > 0)."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        if name not in KINDS:
            raise UsageError(f"{name!r}: one of {', '.join(KINDS)}", argument="--mix")
        if not weight.isdigit():
            raise UsageError(f"{name}: a whole-number weight", argument="--mix")
        mix[name] = int(weight)
    if not mix or not sum(mix.values()):
        raise UsageError("at least one kind with a weight above 0", argument="--mix")
    return mix


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


@dataclass
class KindStats:
    """One kind's figures."""

    count: int = 0
    approved: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def row(self, kind: str, seconds: float) -> dict[str, object]:
        lat = self.latencies_ms
        return {
            "kind": kind, "count": self.count, "approved": self.approved, "errors": self.errors,
            "per_second": round(self.count / seconds, 1) if seconds else 0.0,
            "p50_ms": round(percentile(lat, 0.50), 1), "p95_ms": round(percentile(lat, 0.95), 1),
            "p99_ms": round(percentile(lat, 0.99), 1),
        }  # fmt: skip


@dataclass
class LoadReport:
    """What a load measured."""

    seconds: float
    kinds: dict[str, KindStats]

    def rows(self) -> list[dict[str, object]]:
        return [stats.row(kind, self.seconds) for kind, stats in self.kinds.items()]

    @property
    def total_per_second(self) -> float:
        return sum(s.count for s in self.kinds.values()) / self.seconds if self.seconds else 0.0


async def _one(term: AsyncTerminal, card: Path, kind: str, pin: str) -> bool:
    if kind == "balance":
        result = await term.transact("balance", card, pin=pin)
    elif kind == "tap":
        result = await term.transact("purchase", card, amount=100, tap=True)
    else:
        swipe = kind == "swipe"
        result = await term.transact("purchase", card, pin=pin, amount=100, fallback=swipe)
    return result.approved


async def _terminal(
    term: AsyncTerminal, card: Path, *, pin: str, choose: random.Random,
    mix: Mapping[str, int], interval: float, until: float, report: LoadReport,
    index: int = 0, extra: Extra | None = None,
) -> None:  # fmt: skip
    kinds, weights = list(mix), list(mix.values())
    next_at = time.perf_counter() + choose.random() * interval
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        kind = choose.choices(kinds, weights)[0]
        stats = report.kinds.setdefault(kind, KindStats())
        start = time.perf_counter()
        try:
            if extra is not None and kind in extra:
                approved = await extra[kind](index)
            else:
                approved = await _one(term, card, kind, pin)
        except (NoAnswerError, OSError):
            stats.errors += 1
            approved = False
        stats.count += 1
        stats.approved += approved
        stats.latencies_ms.append((time.perf_counter() - start) * 1000)
        next_at = max(next_at + interval, time.perf_counter())


async def run_load(
    terminals: Sequence[tuple[AsyncTerminal, Path]], *, tps: float, duration: float,
    mix: Mapping[str, int], pin: str, seed: int = 1, extra: Extra | None = None,
) -> LoadReport:  # fmt: skip
    """Run the load (see the module docstring); the terminals must be signed on."""
    if tps <= 0 or duration <= 0:
        raise UsageError("a positive rate and duration", argument="--tps")
    missing = [k for k in mix if mix[k] and k not in TERMINAL_KINDS and k not in (extra or {})]
    if missing:
        raise UsageError(f"{', '.join(missing)}: no one performs it here", argument="--mix")
    interval = len(terminals) / tps
    report = LoadReport(duration, {kind: KindStats() for kind in mix if mix[kind]})
    start = time.perf_counter()
    await asyncio.gather(
        *(
            _terminal(t, c, pin=pin, choose=random.Random(seed * 1_000_003 + n),  # noqa: S311 - pacing
                      mix=mix, interval=interval, until=start + duration, report=report,
                      index=n, extra=extra)
            for n, (t, c) in enumerate(terminals)
        )
    )  # fmt: skip
    report.seconds = time.perf_counter() - start
    return report
