"""A small, time-bounded timing harness: ops/s of a callable, median of repeats.

Tables are printed as Markdown, zhifu beside its baseline measured in the same run. Rows that
measured request latencies (:class:`Latency`, from :func:`latency_of`) add p50 and p99
columns to their table; ``rate_target`` is a floor in ops/s (a row says whether it met it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    """Median and 99th percentile of request latencies, in milliseconds."""

    p50_ms: float
    p99_ms: float


def latency_of(seconds: Sequence[float]) -> Latency | None:
    """p50 and p99 of latencies given in seconds (None when there are none)."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    last = len(ordered) - 1
    return Latency(ordered[last // 2] * 1000, ordered[round(last * 0.99)] * 1000)


@dataclass(frozen=True)
class Row:
    """One measured line: what, zhifu's ops/s, the baseline's ops/s (if any).

    ``target`` is a ratio to reach, ``rate_target`` a floor in ops/s; ``latency`` and
    ``baseline_latency`` the percentiles of the requests measured (if any).
    """

    operation: str
    zhifu: float
    baseline_name: str = ""
    baseline: float | None = None
    target: float | None = None
    latency: Latency | None = None
    baseline_latency: Latency | None = None
    rate_target: float | None = None

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


def _latency_cells(latency: Latency | None) -> str:
    if latency is None:
        return "- | -"
    return f"{latency.p50_ms:.2f} | {latency.p99_ms:.2f}"


def _target_cell(r: Row) -> str:
    parts = []
    if r.target:
        met = "" if r.ratio is None else (" (met)" if r.ratio >= r.target else " (NOT met)")
        parts.append(f">= {r.target:g}x{met}")
    if r.rate_target:
        met = " (met)" if r.zhifu >= r.rate_target else " (NOT met)"
        parts.append(f">= {fmt_rate(r.rate_target)}/s{met}")
    return ", ".join(parts)


def print_table(title: str, rows: Sequence[Row]) -> None:
    """Print a Markdown table of rows (with p50/p99 columns when a row measured latencies)."""
    timed = any(r.latency is not None or r.baseline_latency is not None for r in rows)
    print(f"\n### {title}\n")
    if timed:
        print(
            "| operation | zhifu ops/s | p50 ms | p99 ms | baseline | baseline ops/s | "
            "p50 ms | p99 ms | ratio | target |"
        )
        print("|---|---:|---:|---:|---|---:|---:|---:|---:|---|")
    else:
        print("| operation | zhifu ops/s | baseline | baseline ops/s | ratio | target |")
        print("|---|---:|---|---:|---:|---|")
    for r in rows:
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else "-"
        zhifu, baseline = fmt_rate(r.zhifu), fmt_rate(r.baseline)
        if timed:
            zhifu += " | " + _latency_cells(r.latency)
            baseline += " | " + _latency_cells(r.baseline_latency)
        print(
            f"| {r.operation} | {zhifu} | {r.baseline_name or '-'} | {baseline} | {ratio} | "
            f"{_target_cell(r)} |"
        )
