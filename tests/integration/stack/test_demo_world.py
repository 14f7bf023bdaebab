"""`zhifu serve` seeds the demo world once; `zhifu demo --stack` plays a day against it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.support.net import free_port, wait_http


def _serve(home: Path, web: int, acq: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ZHIFU_LMK", "ZHIFU_LMK_FILE")}
    env |= {"ZHIFU_HOME": str(home)}
    command = [sys.executable, "-m", "zhifu.cli", "serve", "--port", str(web),
               "--acquirer-port", str(acq)]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


def _terminals(home: Path) -> int:
    with sqlite3.connect(f"file:{home / 'acquirer.db'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM terminals").fetchone()[0])


def test_demo_world_seeded_once_and_the_day_passes(tmp_path: Path) -> None:
    home = tmp_path / "var"
    home.mkdir(mode=0o700)
    web, acq = free_port(), free_port()
    proc = _serve(home, web, acq)
    try:
        assert wait_http(f"http://127.0.0.1:{web}/healthz", time.monotonic() + 60) == 200
        world = json.loads((home / "demo" / "world.json").read_text())
        assert len(world["banks"]) == 5 and len(world["terminals"]) == 6
        participants = json.loads((home / "clearing" / "participants.json").read_text())
        assert {b["code"] for b in world["banks"]} <= {
            p["code"] for p in participants["participants"] if p.get("public_key")
        }
        for card in world["cards"]:
            assert (home / card["file"]).is_file()
        assert (home / "demo" / "banks" / "keys.db").stat().st_mode & 0o077 == 0
        for m in world["barcode"]["merchants"]:
            assert (home / m["key_file"]).stat().st_mode & 0o077 == 0
        terminals = _terminals(home)
        assert terminals >= 6
        env = {k: v for k, v in os.environ.items() if k not in ("ZHIFU_LMK", "ZHIFU_LMK_FILE")}
        day = subprocess.run(
            [sys.executable, "-m", "zhifu.cli", "demo", "--stack", "--home", str(home),
             "--acquirer", f"127.0.0.1:{acq}", "--url", f"http://127.0.0.1:{web}", "--json"],
            env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert day.returncode == 0, day.stdout + day.stderr
        found = json.loads(day.stdout)
        assert found["passed"] and all(found["checks"].values()), found["checks"]
        assert {"card ledger balanced", "audit trail verifies", "clearing positions sum to zero",
                "reserve funds reconciled"} <= set(found["checks"])  # fmt: skip
        kinds = {r["what"] for r in found["outcomes"]}
        assert {"purchase (tap)", "refund", "e-cash load", "barcode: merchant scans"} <= kinds
        assert "Traceback" not in day.stderr
        assert "6228" not in day.stdout  # no card number in the summary
    finally:
        out = _stop(proc)
    assert "zhifu demo world seeded" in out and "Traceback" not in out, out
    marker = (home / "demo" / "world.json").read_bytes()
    proc = _serve(home, web, acq)
    try:  # a second start resumes the same data: nothing seeded twice
        assert wait_http(f"http://127.0.0.1:{web}/healthz", time.monotonic() + 60) == 200
    finally:
        again = _stop(proc)
    assert "demo world seeded" not in again and "Traceback" not in again, again
    assert (home / "demo" / "world.json").read_bytes() == marker
    assert _terminals(home) == terminals
