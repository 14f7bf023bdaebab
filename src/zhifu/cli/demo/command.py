"""``zhifu demo``: play a day of the whole system in one process and check the books.

``zhifu demo [--folder DIR] [--json]`` runs :func:`zhifu.cli.demo.day.run_demo` in a new
temporary folder (or ``DIR``): the acquirer host on 127.0.0.1, four terminals and their cards
with every kind of transaction and two faults, barcode payments across two institutions, the
day's interbank obligations cleared through BEPS; then the checks. Progress goes to stderr; the
summary (what happened, by kind and outcome) and the checks to stdout; the exit status is 1 when
a check fails. (Against a stack started by ``make run`` it does not run yet: it starts its own.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from zhifu.cli.common import Outcome, SubParsers, leaf


def register(sub: SubParsers) -> None:
    """Add ``demo``."""
    p = leaf(sub, "demo", _demo, "play a day of cards, barcodes and clearing, then check the books")
    p.add_argument("--folder", help="where the day's files go (default: a new temporary folder)")


def _demo(args: argparse.Namespace) -> Outcome:
    from zhifu.cli.demo.day import run_demo  # noqa: PLC0415 - fast start

    folder = Path(args.folder or tempfile.mkdtemp(prefix="zhifu-demo-"))
    folder.mkdir(parents=True, exist_ok=True)

    def progress(text: str) -> None:
        print(f"… {text}", file=sys.stderr, flush=True)

    day = run_demo(folder, progress)
    rows = [{"what": what, "outcome": outcome, "count": count}
            for (what, outcome), count in sorted(day.outcomes.items())]  # fmt: skip
    lines = [f"{'what':<24}{'outcome':<18}{'count':>6}"]
    lines += [f"{r['what']!s:<24}{r['outcome']!s:<18}{r['count']!s:>6}" for r in rows]
    lines.append("")
    lines += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in day.checks.items()]
    lines.append(f"files in {folder}")
    data = {"outcomes": rows, "checks": day.checks, "passed": day.passed,
            "figures": day.figures, "folder": str(folder)}  # fmt: skip
    return Outcome(data, lines, 0 if day.passed else 1)
