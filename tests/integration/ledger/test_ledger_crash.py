"""Crash: the writer process is killed with SIGKILL at random moments under load (R05).

After each kill the ledger is reopened: every acknowledged transfer is there, no linked pair is
half there, and ``check()`` holds (no transfer without its balance change, no balance change
without its transfer). Bounded: a few rounds of about a second each.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from zhifu.ledger import Account, Ledger, TransferFlags

WRITER = Path(__file__).with_name("ledger_crash_writer.py")
ROUNDS = {"sqlite": 4, "postgresql": 2}


def _read_acks(proc: subprocess.Popen[str], acked: set[int], ready: threading.Event) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ready"):
            ready.set()
        elif line.startswith("ack"):
            acked.update(int(x) for x in line.split()[1:])


def _one_round(url: str, first_id: int, rng: random.Random) -> set[int]:
    acked: set[int] = set()
    ready = threading.Event()
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url, str(first_id)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    reader = threading.Thread(target=_read_acks, args=(proc, acked, ready))
    reader.start()
    assert ready.wait(60), proc.stderr.read() if proc.stderr else ""
    time.sleep(rng.uniform(0.3, 1.2))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return acked


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_kill_minus_nine_loses_no_acknowledged_transfer(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if database == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        ledger.create_accounts([Account(i, 156, 20111) for i in (1, 2, 3, 4)])
    rng = random.Random(database)
    every_ack: set[int] = set()
    for round_ in range(ROUNDS[database]):
        acked = _one_round(url, (round_ + 1) << 48, rng)
        assert acked, "the writer acknowledged nothing before it was killed"
        every_ack |= acked
        with Ledger.open(url) as ledger:
            found = {t.id: t for t in ledger.lookup_transfers(sorted(every_ack))}
            assert set(found) == every_ack  # every acknowledged transfer survived
            rows = ledger.store.read("SELECT id, flags FROM transfers")
            present = {int.from_bytes(r[0], "big"): r[1] for r in rows}
            for tid, flags in present.items():  # a linked pair is whole or absent
                if flags & TransferFlags.LINKED:
                    assert tid + 1 in present, f"half a linked pair: {tid}"
            report = ledger.check()
            assert report.balanced, report.problems
