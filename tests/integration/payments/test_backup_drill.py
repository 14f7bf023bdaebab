"""The backup drill: a bank that took payments is backed up (``zhifu backup``), the backup is
refused when changed, cut or opened with the wrong passphrase, the data directory is wiped,
``zhifu restore`` brings it back with the ledger balanced and the audit trail verified, the
books are the same row for row, and the terminal signs on again and buys."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.acquirer.site import open_site_at
from zhifu.issuer import Issuer
from zhifu.terminal import Terminal

from .conftest import LMK, MID, pan_of

PASSPHRASE = "drill passphrase of the test"
SRC = str(Path(__file__).resolve().parents[3] / "src")


def _zhifu(*args: str, stdin: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZHIFU_LMK": LMK, "PYTHONPATH": SRC}
    env.pop("ZHIFU_BACKUP_PASSPHRASE", None)
    return subprocess.run([sys.executable, "-m", "zhifu", *args, "--passphrase-stdin", "--json"],
                          input=stdin + "\n", capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip


def _start(home: Path) -> BackgroundAcquirer:
    return start_in_background(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})


def _books(home: Path) -> str:
    """A digest of every ledger database's accounts and transfers, row for row."""
    h = hashlib.sha256()
    for path in sorted(home.rglob("*.db")):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if {"accounts", "transfers"} <= tables:
            for table in ("accounts", "transfers"):
                rows = db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                h.update(repr(rows).encode())
        db.close()
    return h.hexdigest()


def _take_payments(host: BackgroundAcquirer, folder: Path) -> tuple[Terminal, list[Path]]:
    services = host.host.services
    reg = register_terminal(services.registry, services.hsm, MID, "10000071")
    parts = [c.material.reveal().hex() for c in reg.components]
    term = Terminal.init(folder / "term", MID, "10000071", parts)
    address = f"127.0.0.1:{host.port}"
    assert term.sign_on(address).get("39") == "00"
    issuer = services.issuer
    assert isinstance(issuer, Issuer)
    cards = []
    for i in range(3):
        card = folder / f"card-{i}.json"
        issuer.issue_card("debit", 100_000, "1234", card)
        assert term.transact("purchase", card, pin="1234", amount=1_00 + i).approved
        cards.append(card)
    return term, cards


def test_backup_wipe_restore_and_carry_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    home, backup = tmp_path / "var", tmp_path / "bank.zbak"
    host = _start(home)
    try:
        term, cards = _take_payments(host, tmp_path)
    finally:
        host.stop()
    site = open_site_at(home, {"ZHIFU_LMK": LMK})
    site.access.add_user("auditor-1", "merchant", "a long password", actor="drill")
    site.close()
    books = _books(home)
    made = _zhifu("backup", "--home", str(home), "--out", str(backup))
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["files"] >= 4
    sealed = backup.read_bytes()
    for card in cards:  # nothing in clear: not a PAN, not a table name
        assert pan_of(card).encode() not in sealed
    assert b"transfers" not in sealed and b"SQLite format" not in sealed

    _refusals(tmp_path, sealed)
    shutil.rmtree(home)
    restored = _zhifu("restore", str(backup), "--home", str(home))
    assert restored.returncode == 0, restored.stderr + restored.stdout
    report = json.loads(restored.stdout)
    assert report["ok"] is True
    assert any(k.startswith("ledger") and v == "ok balanced" for k, v in report["checks"].items())
    assert report["checks"]["audit audit.db"].startswith("ok ")
    assert report["drill_seconds"] > 0
    assert _books(home) == books

    again = _start(home)
    try:
        address = f"127.0.0.1:{again.port}"
        assert term.sign_on(address).get("39") == "00"
        assert term.transact("purchase", cards[0], pin="1234", amount=2_00).approved
    finally:
        again.stop()


def _refusals(tmp_path: Path, sealed: bytes) -> None:
    """Changed, cut, extended or wrongly opened: refused, and nothing written."""
    cases = {
        "changed": sealed[: len(sealed) // 2] + bytes([sealed[len(sealed) // 2] ^ 1])
        + sealed[len(sealed) // 2 + 1 :],
        "cut": sealed[: len(sealed) - 100],
        "extended": sealed + b"\x00",
    }  # fmt: skip
    for name, data in cases.items():
        path = tmp_path / f"{name}.zbak"
        path.write_bytes(data)
        target = tmp_path / f"restored-{name}"
        answer = _zhifu("restore", str(path), "--home", str(target))
        assert answer.returncode != 0, name
        assert "offset" in answer.stderr + answer.stdout, (name, answer.stderr)
        assert not target.exists() or not any(target.iterdir()), name
    wrong = _zhifu("restore", str(tmp_path / "cut.zbak"), "--home", str(tmp_path / "w"),
                   stdin="not the passphrase")  # fmt: skip
    assert wrong.returncode != 0 and "wrong passphrase" in wrong.stderr + wrong.stdout
