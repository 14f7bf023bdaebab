"""The backup drill's time: ``zhifu backup`` and ``zhifu restore`` (with the ledger check and
the audit verification) of a data directory whose ledger holds 1,000,000 transfers.

``python -m bench backup [--transfers N]``. Baselines measured in the same run on the same
folder: SQLite's own online backup of the same databases into plain files (what the snapshot
step costs without the tar and the encryption), and a plain copy of the folder (what putting
files back costs without the checks).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from zhifu.acquirer.backup import back_up, restore, verify
from zhifu.acquirer.site import open_site_at
from zhifu.ledger import Account, Ledger, Transfer

TRANSFERS = 1_000_000
ACCOUNTS = 1_000
BATCH = 8_000
LMK = {"ZHIFU_LMK": "6b" * 32}
PASSPHRASE = "bench passphrase, long enough"


def _build(home: Path, transfers: int) -> None:
    home.mkdir(parents=True, mode=0o700)
    rng = random.Random(7)
    with Ledger.open(f"sqlite:///{home / 'ledger.db'}") as ledger:
        ledger.create_accounts([Account(i, 1, 1) for i in range(1, ACCOUNTS + 1)])
        for start in range(0, transfers, BATCH):
            batch = []
            for n in range(start, min(start + BATCH, transfers)):
                debit, credit = rng.sample(range(1, ACCOUNTS + 1), 2)
                batch.append(Transfer(n + 1, debit, credit, rng.randint(1, 10_000), 1, 1))
            ledger.create_transfers(batch)
    site = open_site_at(home, LMK)
    for i in range(1_000):
        site.record("bench", "transfer.batch", str(i), "ok")
    site.close()


def _sqlite_copies(home: Path, into: Path) -> None:
    into.mkdir()
    for path in home.glob("*.db"):
        source, target = sqlite3.connect(path), sqlite3.connect(into / path.name)
        source.backup(target)
        target.close()
        source.close()


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def run(transfers: int = TRANSFERS) -> None:
    """Build the folder, then time each step beside its baseline."""
    with tempfile.TemporaryDirectory(prefix="zhifu-bench-backup-") as scratch:
        root = Path(scratch)
        home = root / "var"
        built = _timed(lambda: _build(home, transfers))
        size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
        out = root / "bank.zbak"
        mine_backup = _timed(lambda: back_up(home, out, PASSPHRASE))
        base_backup = _timed(lambda: _sqlite_copies(home, root / "plain"))
        target = root / "restored"
        mine_restore = _timed(lambda: restore(out, target, PASSPHRASE))
        checks: dict[str, str] = {}
        mine_checks = _timed(lambda: checks.update(verify(target, LMK)))
        base_restore = _timed(lambda: shutil.copytree(root / "plain", root / "copied"))
    print(f"\n### Backup drill: a ledger of {transfers:,} transfers ({size / 1e6:,.0f} MB, built "
          f"in {built:.0f} s)\n")  # fmt: skip
    print("| step | zhifu s | baseline | baseline s | ratio |")
    print("|---|---:|---|---:|---:|")
    rows = [
        ("backup (snapshot, tar, AES-256-GCM)", mine_backup, "sqlite3 online backup", base_backup),
        ("restore (decrypt, extract, SHA-256 checks)", mine_restore, "copy of the folder",
         base_restore),
        ("checks (ledger check, audit verify)", mine_checks, "-", None),
        ("drill: restore + checks", mine_restore + mine_checks, "copy of the folder",
         base_restore),
    ]  # fmt: skip
    for step, mine, name, base in rows:
        ratio = f"{mine / base:.1f}x" if base else "-"
        print(f"| {step} | {mine:.2f} | {name} | {'-' if base is None else f'{base:.2f}'} | "
              f"{ratio} |")  # fmt: skip
    print(f"\nchecks after restore: {checks}")


if __name__ == "__main__":
    import sys

    run(int(sys.argv[1]) if len(sys.argv) > 1 else TRANSFERS)
