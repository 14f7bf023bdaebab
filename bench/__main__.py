"""``python -m bench`` (``make bench``): every benchmark table, zhifu beside its baselines.

``python -m bench crypto http`` runs only the named sections; ``--frames N`` sets the number of
frames the ``modem`` section sends at 20 dB (default 10,000; the other SNRs send a tenth);
``--transfers N`` the size of the ledger the ``backup`` section backs up (default 1,000,000).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable

from bench import (
    acquirer,
    backup,
    barcode,
    card,
    clearing,
    clearing_xml,
    console,
    crypto,
    gridlock,
    iso8583,
    kernel,
    ledger,
    modem,
    payments,
    qr,
    terminal_paths,
)

SECTIONS = (
    "crypto",
    "card",
    "kernel",
    "terminal",
    "iso8583",
    "acquirer",
    "payments",
    "ledger",
    "qr",
    "barcode",
    "clearing",
    "clearing_xml",
    "gridlock",
    "modem",
    "backup",
    "console",
    "http",
)


def _http() -> None:
    subprocess.run([sys.executable, "-m", "bench.http_frameworks", "--quick"], check=False)


RUNNERS: dict[str, Callable[[], None]] = {
    "crypto": crypto.run,
    "card": card.run,
    "kernel": kernel.run,
    "terminal": terminal_paths.run,
    "iso8583": iso8583.run,
    "acquirer": lambda: acquirer.run(seconds=1.0),
    "payments": lambda: payments.run(seconds=3.0),
    "ledger": ledger.run,
    "qr": qr.run,
    "barcode": barcode.run,
    "clearing": clearing.run,
    "clearing_xml": clearing_xml.run,
    "gridlock": gridlock.run,
    "modem": modem.run,
    "backup": backup.run,
    "console": console.run,
    "http": _http,
}


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("sections", nargs="*", metavar="section", help=", ".join(SECTIONS))
    parser.add_argument(
        "--frames", type=int, default=modem.FRAMES, metavar="N",
        help=f"modem: frames at 20 dB (default {modem.FRAMES:,}; the other SNRs a tenth)",
    )  # fmt: skip
    parser.add_argument(
        "--transfers", type=int, default=backup.TRANSFERS, metavar="N",
        help=f"backup: transfers in the ledger backed up (default {backup.TRANSFERS:,})",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames: at least 1")
    return args


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    chosen = args.sections or list(SECTIONS)
    runners = {**RUNNERS, "modem": lambda: modem.run(args.frames),
               "backup": lambda: backup.run(args.transfers)}  # fmt: skip
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        print(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}", file=sys.stderr)
        return 2
    print(
        f"# zhifu benchmarks — {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    print(
        "Ratios compare rows measured side by side in this run; absolute figures depend on "
        "the machine."
    )
    for section in SECTIONS:
        if section in chosen:
            runners[section]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
