"""A small, time-bounded timing harness: ops/s of a callable, median of repeats.

Tables are printed as Markdown, zhifu beside its baseline measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measured line: what, zhifu's ops/s, the baseline's ops/s (if any)."""

    operation: str
    zhifu: float
    baseline_name: str = ""
    baseline: float | None = None
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.zhifu / self.baseline


def ops_per_second(fn: Callable[[], object], *, seconds: float = 0.3, repeats: int = 3) -> float:
    """Median ops/s over ``repeats`` runs of about ``seconds`` each."""
    fn()  # warm up
    batch = 1
    while True:  # size a batch to ~1/10 of the run
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        took = time.perf_counter() - start
        if took > seconds / 10 or batch > 1 << 20:
            break
        batch *= 2
    rates = []
    for _ in range(repeats):
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for _ in range(batch):
                fn()
            n += batch
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def fmt_rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def print_table(title: str, rows: Sequence[Row]) -> None:
    """Print a Markdown table of rows."""
    print(f"\n### {title}\n")
    print("| operation | zhifu ops/s | baseline | baseline ops/s | ratio | target |")
    print("|---|---:|---|---:|---:|---|")
    for r in rows:
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else "-"
        target = f">= {r.target:g}x" if r.target else ""
        if r.target and r.ratio is not None:
            target += " (met)" if r.ratio >= r.target else " (NOT met)"
        print(
            f"| {r.operation} | {fmt_rate(r.zhifu)} | {r.baseline_name or '-'} | "
            f"{fmt_rate(r.baseline)} | {ratio} | {target} |"
        )
