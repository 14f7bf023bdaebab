"""``zhifu sim``: run the seeded fault simulation over many seeds (``docs/simulation.md``).

``zhifu sim --seeds 1000`` runs seeds 1 to 1000; ``zhifu sim --seed 1234 --steps 200`` runs
one again (``--log`` prints its event log). Progress goes to stderr; each failing seed prints
one line that reproduces it, e.g.
``zhifu sim --seed 1234 --steps 40  # books: card 1 (622800******1117) holds ...``.
The exit status is 1 when any seed fails.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

if TYPE_CHECKING:
    from zhifu.sim import SimResult

_MAX_SEEDS = 1_000_000
_MAX_STEPS = 10_000


def register(sub: SubParsers) -> None:
    """Add ``sim``."""
    p = leaf(sub, "sim", _sim, "seeded deterministic fault simulation of terminals, the "
             "acquirer, the issuer and the ledger; the books audited after each seed")  # fmt: skip
    p.add_argument("--seeds", type=int, default=100, help="how many seeds (default 100)")
    p.add_argument("--start", type=int, default=1, help="the first seed (default 1)")
    p.add_argument("--seed", type=int, help="run this one seed (same as --start S --seeds 1)")
    p.add_argument("--steps", type=int, default=40, help="operations per seed (default 40)")
    p.add_argument("--terminals", type=int, default=2, help="terminals (default 2)")
    p.add_argument("--faults", default="default",
                   help="default, none, or name=probability,... of drop, duplicate, late, "
                        "crash, disk")  # fmt: skip
    p.add_argument("--jobs", type=int, default=0,
                   help="processes running seeds (default: the machine's cores)")  # fmt: skip
    p.add_argument("--log", action="store_true", help="print each seed's event log")


def _check(args: argparse.Namespace) -> None:
    if args.seed is not None:
        args.start, args.seeds = args.seed, 1
    if not 1 <= args.seeds <= _MAX_SEEDS:
        raise UsageError(f"1 to {_MAX_SEEDS}", argument="--seeds")
    if args.start < 0:
        raise UsageError("a seed is 0 or more", argument="--start")
    if not 1 <= args.steps <= _MAX_STEPS:
        raise UsageError(f"1 to {_MAX_STEPS}", argument="--steps")
    if not 1 <= args.terminals <= 8:
        raise UsageError("1 to 8", argument="--terminals")
    if args.jobs < 0:
        raise UsageError("0 (the cores) or more", argument="--jobs")


def _one(job: tuple[int, int, int, str, bool]) -> SimResult:
    """One seed in a worker process (the host's own logging silenced: crashes are planned)."""
    from zhifu.sim import Faults, run_seed  # noqa: PLC0415 - fast start

    seed, steps, terminals, faults, keep_log = job
    logging.disable(logging.CRITICAL)
    return run_seed(seed, steps=steps, terminals=terminals, faults=Faults.parse(faults),
                    keep_log=keep_log)  # fmt: skip


def _sim(args: argparse.Namespace) -> Outcome:
    from zhifu.sim import Faults  # noqa: PLC0415 - fast start

    _check(args)
    faults = Faults.parse(args.faults).text()
    seeds = range(args.start, args.start + args.seeds)
    jobs = [(seed, args.steps, args.terminals, faults, args.log) for seed in seeds]
    workers = min(args.jobs or os.cpu_count() or 1, len(jobs))
    began = time.perf_counter()
    results: list[SimResult] = []
    lines: list[str] = []
    if workers == 1:
        runs: Any = map(_one, jobs)
        results = _collect(runs, len(jobs), lines, log=args.log)
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = _collect(pool.map(_one, jobs), len(jobs), lines, log=args.log)
    seconds = time.perf_counter() - began
    failed = [r for r in results if not r.ok]
    lines.append(f"{len(results) - len(failed)} of {len(results)} seeds passed "
                 f"({args.steps} steps each, {seconds:.1f} s)")  # fmt: skip
    data = {
        "seeds": len(results), "start": args.start, "steps": args.steps,
        "passed": len(results) - len(failed), "failed": [r.as_json() for r in failed],
        "hashes": {str(r.seed): r.event_log_hash for r in results}, "seconds": round(seconds, 1),
    }  # fmt: skip
    return Outcome(data, lines, 1 if failed else 0)


def _collect(runs: Any, total: int, lines: list[str], *, log: bool) -> list[SimResult]:
    """Gather the results in seed order: progress on stderr, a failing seed's line kept."""
    results: list[SimResult] = []
    failed = 0
    for done, result in enumerate(runs, 1):
        results.append(result)
        if log:
            lines.extend(result.events)
        if not result.ok:
            failed += 1
            lines.append(result.repro)
            print(f"FAIL {result.repro}", file=sys.stderr, flush=True)
        if done == total or done % 10 == 0:
            print(f"sim: {done}/{total} seeds, {failed} failed", file=sys.stderr, flush=True)
    return results
