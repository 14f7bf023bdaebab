"""``zhifu load``: virtual terminals against a running acquirer, throughput and latency by kind.

``zhifu load --host 127.0.0.1:5800 --terminals 50 --tps 200 --duration 30
--mix purchase=70,balance=10,tap=20 [--png chart.png] [--json]``

Before the load it registers the virtual terminals (TMKs made in the acquirer's security module,
``ZHIFU_HOME``) and issues each a debit card through the issuer of the same data directory —
the machine the stack runs on (``make run``). Terminals and cards live in a folder of their own
(``--folder``, default a new temporary one). Then every terminal signs on and the load runs
(:mod:`zhifu.terminal.load`); the table gives, per kind, the count, approvals, rate and the
p50/p95/p99 latency the terminals saw; ``--png`` draws the percentiles as a bar chart.
Bounded: at most 1,000 terminals, 10,000 per second and 600 seconds. ``qr`` is a barcode
payment over HTTP to the web app at ``--url`` (:mod:`zhifu.cli.load_qr`): a merchant's order
paid by another institution's wallet.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
from pathlib import Path
from typing import Any

from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

LOAD_MERCHANT = "898100099999999"
PIN = "1234"


def register(sub: SubParsers) -> None:
    """Add ``load``."""
    p = leaf(sub, "load", _load, "virtual terminals against a running acquirer (throughput, p99)")
    p.add_argument("--host", default="127.0.0.1:5800", help="the acquirer (HOST:PORT)")
    p.add_argument("--terminals", type=int, default=20, help="virtual terminals (1-1000)")
    p.add_argument("--tps", type=float, default=100.0, help="transactions per second, all told")
    p.add_argument("--duration", type=float, default=10.0, help="seconds (at most 600)")
    p.add_argument("--mix", default="purchase=80,balance=10,tap=10",
                   help="kinds and weights: purchase, balance, tap, swipe, qr")  # fmt: skip
    p.add_argument("--url", default="http://127.0.0.1:8000",
                   help="the web app, for qr (barcode payments over HTTP)")  # fmt: skip
    p.add_argument("--folder", help="where the terminals and cards go (default: a temp folder)")
    p.add_argument("--png", help="save a bar chart of the latency percentiles there")
    p.add_argument("--seed", type=int, default=1, help="the mix's random seed")


def _check(args: argparse.Namespace) -> dict[str, int]:
    from zhifu.terminal.load import parse_mix  # noqa: PLC0415 - fast start

    if not 1 <= args.terminals <= 1000:
        raise UsageError("1 to 1000", argument="--terminals")
    if not 0 < args.tps <= 10_000:
        raise UsageError("above 0, at most 10000", argument="--tps")
    if not 0 < args.duration <= 600:
        raise UsageError("above 0, at most 600 seconds", argument="--duration")
    return parse_mix(args.mix)


def _prepare(count: int, folder: Path) -> list[tuple[Path, Path]]:
    """Register ``count`` terminals and issue each a card (through ``ZHIFU_HOME``)."""
    from zhifu.acquirer.config import AcquirerConfig  # noqa: PLC0415
    from zhifu.acquirer.host import AcquirerHost  # noqa: PLC0415
    from zhifu.acquirer.registry import register_terminal  # noqa: PLC0415
    from zhifu.issuer import Issuer  # noqa: PLC0415
    from zhifu.terminal import Terminal  # noqa: PLC0415

    host = AcquirerHost.open(AcquirerConfig.local(port=0))
    made = []
    try:
        services, prefix = host.services, f"9{secrets.randbelow(100):02d}"
        issuer = services.issuer
        if not isinstance(issuer, Issuer):
            raise UsageError("the acquirer has no in-process issuer", argument="--host")
        for n in range(count):
            tid = f"{prefix}{n:05d}"
            reg = register_terminal(services.registry, services.hsm, LOAD_MERCHANT, tid)
            parts = [c.material.reveal().hex() for c in reg.components]
            Terminal.init(folder / f"t{tid}", LOAD_MERCHANT, tid, parts).close()
            card = folder / f"card-{tid}.json"
            issuer.issue_card("debit", 100_000_000, PIN, card)
            made.append((folder / f"t{tid}", card))
    finally:
        host.close()
    return made


async def _run(
    args: argparse.Namespace, made: list[tuple[Path, Path]], mix: dict[str, int], qr: Any
) -> Any:
    from zhifu.terminal import AsyncTerminal  # noqa: PLC0415
    from zhifu.terminal.link import NoAnswerError  # noqa: PLC0415
    from zhifu.terminal.load import run_load  # noqa: PLC0415

    terms = [(AsyncTerminal(f), card) for f, card in made]
    try:
        for n, (term, _) in enumerate(terms, 1):
            try:
                await term.sign_on(args.host)
            except (NoAnswerError, OSError) as exc:
                raise UsageError(
                    f"terminal {n} of {len(terms)} could not sign on ({exc}); the host may cap "
                    "connections per address (zhifu acquirer run --max-per-address N)",
                    argument="--terminals",
                ) from None
        return await run_load(terms, tps=args.tps, duration=args.duration, mix=mix, pin=PIN,
                              seed=args.seed, extra=None if qr is None else {"qr": qr})  # fmt: skip
    finally:
        for term, _ in terms:
            await term.close()


def _load(args: argparse.Namespace) -> Outcome:
    mix = _check(args)
    folder = Path(args.folder or tempfile.mkdtemp(prefix="zhifu-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    made = _prepare(args.terminals, folder)
    qr = None
    if mix.get("qr"):
        from zhifu.cli.load_qr import QrPayer, prepare_qr  # noqa: PLC0415 - only for qr

        qr = QrPayer(args.url, prepare_qr(args.terminals))
    try:
        report = asyncio.run(_run(args, made, mix, qr))
    finally:
        if qr is not None:
            qr.close()
    rows = report.rows()
    if args.png:
        _chart(rows, Path(args.png))
    lines = [
        f"{len(made)} terminals, {report.seconds:.1f} s, {report.total_per_second:.1f}/s in all"
    ]
    columns = ("kind", "count", "approved", "per_second", "p50_ms", "p95_ms", "p99_ms")
    lines.append("".join(f"{c:>11}" for c in columns))
    lines += ["".join(f"{r[c]!s:>11}" for c in columns) for r in rows]
    data = {"terminals": len(made), "seconds": round(report.seconds, 2),
            "per_second": round(report.total_per_second, 1), "kinds": rows,
            "folder": str(folder)}  # fmt: skip
    return Outcome(data, lines, 0 if all(r["errors"] == 0 for r in rows) else 1)


def _chart(rows: list[dict[str, Any]], out: Path) -> None:
    """p50/p95/p99 per kind as grouped bars (Pillow)."""
    from PIL import Image, ImageDraw  # noqa: PLC0415

    width, height, margin = 640, 360, 40
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    top = max((float(r["p99_ms"]) for r in rows), default=1.0) or 1.0
    group = (width - 2 * margin) / max(len(rows), 1)
    colours = ("#4c78a8", "#f58518", "#e45756")
    for n, row in enumerate(rows):
        for k, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
            bar = (height - 2 * margin) * float(row[key]) / top
            x = margin + n * group + k * group / 4 + 4
            draw.rectangle([x, height - margin - bar, x + group / 4 - 2, height - margin],
                           fill=colours[k])  # fmt: skip
        draw.text((margin + n * group + 4, height - margin + 6), str(row["kind"]), fill="black")
    draw.text((margin, 10), f"latency p50 / p95 / p99 (ms), top {top:.1f} ms", fill="black")
    image.save(out, format="PNG")
