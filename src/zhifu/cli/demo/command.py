"""``zhifu demo``: play a day of the whole system and check the books.

``zhifu demo [--folder DIR] [--json]`` runs :func:`zhifu.cli.demo.day.run_demo` in process, in a
new temporary folder (or ``DIR``): the acquirer host on 127.0.0.1, four terminals and their cards
with every kind of transaction and two faults, barcode payments across two institutions, the
day's interbank obligations cleared through BEPS; then the checks.

``zhifu demo --stack [--home DIR] [--acquirer HOST:PORT] [--url URL]`` plays the day against
a running stack (``make run``) on its demo world (:mod:`zhifu.cli.demo.world`): cards over TCP
to the acquirer, barcodes through the HTTP API, BEPS packets to the centres, whose clock it
moves through the cut-off (:mod:`zhifu.cli.demo.stack`, :mod:`zhifu.cli.demo.stack_clearing`).
The defaults come from the stack's settings (``zhifu.toml``, the environment): the data
directory, ``127.0.0.1:<acquirer.port>`` and ``http://127.0.0.1:<web.port>``.

Either way a progress bar goes to stderr; the summary (what happened, by kind and outcome) and
the checks to stdout (``--json``: as data); the exit status is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

IN_PROCESS_STEPS = 7
STACK_STEPS = 11


def register(sub: SubParsers) -> None:
    """Add ``demo``."""
    p = leaf(sub, "demo", _demo, "play a day of cards, barcodes and clearing, then check the books")
    p.add_argument("--folder", help="in process: where the day's files go (default: a new "
                   "temporary folder)")  # fmt: skip
    p.add_argument("--stack", action="store_true",
                   help="play against a running stack (make run) and its demo world")  # fmt: skip
    p.add_argument("--home", metavar="DIR", help="with --stack: the stack's data directory "
                   "(default: data.home, $ZHIFU_HOME, var)")  # fmt: skip
    p.add_argument("--acquirer", metavar="HOST:PORT", help="with --stack: the acquirer "
                   "(default: 127.0.0.1:acquirer.port)")  # fmt: skip
    p.add_argument("--url", help="with --stack: the web app (default: http://127.0.0.1:web.port)")


class Bar:
    """A progress bar on stderr: redrawn in place on a terminal, a line a step elsewhere."""

    def __init__(self, total: int, width: int = 24) -> None:
        self.total, self.width, self.done = total, width, 0
        self.tty = sys.stderr.isatty()

    def __call__(self, text: str) -> None:
        self.done = min(self.done + 1, self.total)
        filled = self.width * self.done // self.total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done:>2}/{self.total} {text}"
        if self.tty:
            print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr, flush=True)


def _demo(args: argparse.Namespace) -> Outcome:
    if args.stack:
        return _stack(args)
    if args.home or args.acquirer or args.url:
        raise UsageError("--home, --acquirer and --url go with --stack", argument="--stack")
    from zhifu.cli.demo.day import run_demo  # noqa: PLC0415 - fast start

    folder = Path(args.folder or tempfile.mkdtemp(prefix="zhifu-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    bar = Bar(IN_PROCESS_STEPS)
    try:
        day = run_demo(folder, bar)
    finally:
        bar.end()
    return _outcome(day, {"folder": str(folder)}, f"files in {folder}")


def _stack(args: argparse.Namespace) -> Outcome:
    from zhifu.cli.settings import load_settings  # noqa: PLC0415
    from zhifu.codec.home import HOME_ENV  # noqa: PLC0415

    if args.folder:
        raise UsageError("--folder is for the in-process day; --stack uses --home",
                         argument="--folder")  # fmt: skip
    found = load_settings(None)
    home = Path(args.home or str(found.value("data.home"))).absolute()
    os.environ[HOME_ENV] = str(home)  # the issuer's and the barcode platform's folders
    acquirer = args.acquirer or f"127.0.0.1:{found.value('acquirer.port')}"
    url = (args.url or f"http://127.0.0.1:{found.value('web.port')}").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError("an http:// or https:// URL", argument="--url")
    _answers(url)
    from zhifu.cli.demo.world import read_world  # noqa: PLC0415

    world = read_world(home)
    bar = Bar(STACK_STEPS)
    try:
        day = _play(home, world, acquirer, url, bar)
    finally:
        bar.end()
    where = {"home": str(home), "acquirer": acquirer, "url": url}
    return _outcome(day, where, f"stack at {url} and {acquirer}, data in {home}")


def _answers(url: str) -> None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5):  # noqa: S310 - checked above
            pass
    except OSError:
        raise UsageError(
            f"no stack answers at {url}: start it (make run)", argument="--url"
        ) from None


def _play(home: Path, world: dict[str, Any], acquirer: str, url: str, bar: Bar) -> Any:
    from datetime import datetime  # noqa: PLC0415

    from zhifu.clearing.obligations import net_between_banks  # noqa: PLC0415
    from zhifu.cli.demo.day import DemoDay  # noqa: PLC0415
    from zhifu.cli.demo.stack import play_barcodes, play_cards  # noqa: PLC0415
    from zhifu.cli.demo.stack_clearing import check_books, play_clearing  # noqa: PLC0415
    from zhifu.core.clock import SHANGHAI  # noqa: PLC0415

    day = DemoDay()
    today = datetime.now(SHANGHAI).date()
    card_total = play_cards(day, home, world, acquirer, bar)
    owed = [(world["issuing_bank"], world["acquiring_bank"], card_total)]
    moved = play_barcodes(day, home, world, url, bar)
    banks = {i["id"]: i["bank"] for i in world["barcode"]["institutions"]}
    owed += [(o.payer_bank, o.payee_bank, o.amount)
             for o in net_between_banks(moved, banks, today)]  # fmt: skip
    day.figures["card total"] = card_total
    play_clearing(day, home, world, url, owed=owed, step=bar)
    bar("checks: ledgers, audit trail, reserve funds")
    check_books(day, home, today)
    return day


def _outcome(day: Any, where: dict[str, str], footer: str) -> Outcome:
    rows = [{"what": what, "outcome": outcome, "count": count}
            for (what, outcome), count in sorted(day.outcomes.items())]  # fmt: skip
    lines = [f"{'what':<26}{'outcome':<20}{'count':>6}"]
    lines += [f"{r['what']!s:<26}{r['outcome']!s:<20}{r['count']!s:>6}" for r in rows]
    lines.append("")
    lines += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in day.checks.items()]
    lines.append(footer)
    data = {"outcomes": rows, "checks": day.checks, "passed": day.passed,
            "figures": day.figures, **where}  # fmt: skip
    return Outcome(data, lines, 0 if day.passed else 1)
