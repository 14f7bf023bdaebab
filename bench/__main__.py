"""``python -m bench`` (``make bench``): every benchmark table, zhifu beside its baselines.

``python -m bench crypto http`` runs only the named sections.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

from bench import (
    acquirer,
    barcode,
    card,
    clearing,
    clearing_xml,
    crypto,
    iso8583,
    ledger,
    payments,
    qr,
)

SECTIONS = (
    "crypto",
    "card",
    "iso8583",
    "acquirer",
    "payments",
    "ledger",
    "qr",
    "barcode",
    "clearing",
    "clearing_xml",
    "http",
)


def _http() -> None:
    subprocess.run([sys.executable, "-m", "bench.http_frameworks", "--quick"], check=False)


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
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
    if "crypto" in chosen:
        crypto.run()
    if "card" in chosen:
        card.run()
    if "iso8583" in chosen:
        iso8583.run()
    if "acquirer" in chosen:
        acquirer.run(seconds=1.0)
    if "payments" in chosen:
        payments.run(seconds=3.0)
    if "ledger" in chosen:
        ledger.run()
    if "qr" in chosen:
        qr.run()
    if "barcode" in chosen:
        barcode.run()
    if "clearing" in chosen:
        clearing.run()
    if "clearing_xml" in chosen:
        clearing_xml.run()
    if "http" in chosen:
        _http()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
