"""Card payments end to end: purchases per second over TCP, 50 terminals in a separate process.

The host (``zhifu acquirer run``: acquirer, in-process issuer, ledger and journals on SQLite
files in a temporary data directory) runs in its own process; the 50 terminals in another
(``bench.payments_client``). A purchase is the whole path: MAC check, PIN translation
TPK→ZPK, ARQC verification, PIN verification against the PVV, the issuer's posting, the
merchant's posting, the records, the ARPC and the response MAC. Beside it, in the same run:
echo (0820 / 301) over the same connections, and the ledger alone (single transfers from 50
threads on a SQLite file). p50 and p99 are the latencies the terminals saw.

``python -m bench payments`` prints the table alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import Row, print_table
from zhifu.acquirer import AcquirerConfig, AcquirerHost, register_terminal
from zhifu.issuer import Issuer
from zhifu.ledger import Account, AccountFlags, Ledger, Transfer

TERMINALS = 50
MID = "898100012345678"
LMK = "5B" * 32
PIN = "1234"


def _env(home: Path) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [src, root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "ZHIFU_HOME": str(home), "ZHIFU_LMK": LMK, "PYTHONPATH": path}


def _setup(folder: Path) -> Path:
    """Register the terminals and issue their cards; the client's setup file."""
    home = folder / "var"
    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    issuer = host.services.issuer
    assert isinstance(issuer, Issuer)
    terminals = []
    for n in range(TERMINALS):
        tid = f"6000{n:04d}"
        reg = register_terminal(host.services.registry, host.services.hsm, MID, tid)
        card = folder / f"card-{n}.json"
        issuer.issue_card("debit", 100_000_000, PIN, card)
        terminals.append(
            {
                "terminal": tid,
                "card": str(card),
                "state": str(folder / f"t{n}"),
                "components": [c.material.reveal().hex() for c in reg.components],
            }
        )
    host.close()
    setup = folder / "setup.json"
    setup.write_text(json.dumps({"merchant": MID, "pin": PIN, "terminals": terminals}))
    return setup


def _host(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    log = folder / "host.log"
    command = [
        sys.executable,
        "-m",
        "zhifu",
        "acquirer",
        "run",
        "--port",
        "0",
        "--max-per-address",
        str(2 * TERMINALS),
        "--risk",  # the rules assess every purchase but refuse none: 50 cards at full speed
        "monitor",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=_env(folder / "var"), stdout=subprocess.DEVNULL, stderr=out
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return process, int(found.group(1))
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the host did not start: " + log.read_text()[-500:])


def _ledger_alone(folder: Path, seconds: float) -> float:
    ledger = Ledger.open(f"sqlite:///{folder / 'alone.db'}")
    ledger.create_accounts([Account(1, 156, 20111), Account(2, 156, 20111, AccountFlags.NONE)])
    ids = iter(range(10, 1 << 60))
    lock = threading.Lock()
    done = [0] * TERMINALS
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        while time.perf_counter() < deadline:
            with lock:
                tid = next(ids)
            ledger.create_transfers([Transfer(tid, 2, 1, 1, 156, 1)])
            done[n] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(TERMINALS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(done) / (time.perf_counter() - start)
    ledger.close()
    return rate


def measure(seconds: float = 3.0) -> dict[str, dict[str, float]]:
    """The figures: purchase and echo (rate, p50, p99), the ledger alone (rate)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup = _setup(folder)
        process, port = _host(folder)
        try:
            client = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.payments_client",
                    str(setup),
                    str(port),
                    str(seconds),
                ],
                env=_env(folder / "var"),
                capture_output=True,
                check=False,
                timeout=600,
            )
            if client.returncode:
                raise RuntimeError("the terminals failed: " + client.stderr.decode()[-2000:])
        finally:
            process.terminate()
            process.wait(30)
        figures: dict[str, dict[str, float]] = json.loads(client.stdout)
        figures["ledger"] = {"rate": _ledger_alone(folder, seconds)}
    return figures


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def run(seconds: float = 3.0) -> None:
    """Measure and print the card payments table."""
    f = measure(seconds)
    purchase, echo = f["purchase"], f["echo"]
    purchase_met = purchase["rate"] >= 1_000 and purchase["p99_ms"] < 50
    rows = [
        Row(
            f"purchase, chip + online PIN + ARQC + ledger (p50 {purchase['p50_ms']:.1f} ms, "
            f"p99 {purchase['p99_ms']:.1f} ms; {purchase['declined']:.0f} declined; target "
            f">= 1,000/s, p99 < 50 ms: {_met(purchase_met)})",
            purchase["rate"],
            "echo 301, same connections",
            echo["rate"],
        ),
        Row(
            f"echo 301 over TCP (p50 {echo['p50_ms']:.1f} ms, p99 {echo['p99_ms']:.1f} ms; "
            f"target >= 5,000/s: {_met(echo['rate'] >= 5_000)})",
            echo["rate"],
            "ledger alone, single transfers",
            f["ledger"]["rate"],
        ),
    ]
    print_table(
        f"Card payments end to end: per second over TCP, {TERMINALS} terminals in another "
        "process, host on SQLite files",
        rows,
    )


if __name__ == "__main__":
    run()
