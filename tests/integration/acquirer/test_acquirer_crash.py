"""A real ``zhifu acquirer run`` killed (SIGKILL) during a burst of sign-ons: the working keys
of the sign-ons it cut off are gone after the next start, and nothing else is.

The keys are counted in the key store file itself before the kill, after it and after the
restart: TMKs plus the keys the terminals hold, and orphans (working keys no terminal holds).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from zhifu.acquirer import AcquirerConfig, AcquirerHost
from zhifu.acquirer.custody import WORKING_USAGES
from zhifu.acquirer.database import Database
from zhifu.acquirer.registry import Registry
from zhifu.security.store import KeyStore

LMK = "3C" * 32
TERMINALS = 6
PIPELINED = 4
ATTEMPTS = 10  # a kill lands inside a sign-on nearly every time; on a loaded machine, not always
STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    """Kill what a failing test left running (each process by its own handle)."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _env(home: Path) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[3] / "src")
    path = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "ZHIFU_HOME": str(home), "ZHIFU_LMK": LMK, "PYTHONPATH": path}


class Acquirer:
    """``zhifu acquirer run`` in a subprocess, its log in a file."""

    def __init__(self, home: Path, attempt: int, *options: str) -> None:
        self.log = home.parent / f"acquirer-{attempt}.log"
        command = [sys.executable, "-m", "zhifu", "acquirer", "run", "--port", "0", *options]
        with self.log.open("wb") as out:
            env = _env(home)
            self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=out)
        STARTED.append(self.process)
        self.port = self._wait_listening()

    def _wait_listening(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log.read_text())
            if found:
                return int(found.group(1))
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError("zhifu acquirer run did not start listening")

    def stop(self, signum: int) -> None:
        self.process.send_signal(signum)
        self.process.wait(30)


ISSUER_LABELS = ("issuer/", "zone/")  # the in-process issuer's keys share the store


def _census(home: Path) -> dict[str, int]:
    """Keys in the store by kind, read from the files (no host opened, nothing swept)."""
    store = KeyStore.open(home / "keys.db", environ={"ZHIFU_LMK": LMK})
    db = Database(home / "acquirer.db")
    try:
        held = Registry(db).held_key_handles()
        ours = {h for h in store.handles() if not store.info(h).label.startswith(ISSUER_LABELS)}
        working = set(store.handles(WORKING_USAGES)) & ours
        return {
            "all": len(ours),
            "held": len(held),
            "orphans": len(working - held),
            "missing": len(held - working),
        }
    finally:
        db.close()
        store.close()


async def _burst(tc: ModuleType, terminals: list[Any], acquirer: Acquirer, kill_after: int) -> int:
    """Every terminal pipelines sign-ons; SIGKILL once ``kill_after`` answers came back."""
    answered = 0

    async def sign_on_forever(terminal: Any) -> None:
        nonlocal answered
        await terminal.connect(acquirer.port)
        while True:
            frames = [
                terminal.frame_of(terminal.management("0800", "004")) for _ in range(PIPELINED)
            ]
            await terminal.send_raw(b"".join(frames))
            for _ in range(PIPELINED):
                await terminal.receive()
                answered += 1

    tasks = [asyncio.create_task(sign_on_forever(t)) for t in terminals]
    while answered < kill_after and not any(t.done() for t in tasks):
        await asyncio.sleep(0.001)
    acquirer.stop(signal.SIGKILL)
    await asyncio.gather(*tasks, return_exceptions=True)
    for terminal in terminals:
        await terminal.close()
    return answered


def test_sign_ons_cut_off_by_sigkill_leave_no_orphan_after_restart(
    tc: ModuleType, tmp_path: Path
) -> None:
    home = tmp_path / "var"
    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    terminals = [tc.enrol(host, f"3000{n:04d}") for n in range(TERMINALS)]
    host.close()
    assert _census(home) == {"all": TERMINALS, "held": 0, "orphans": 0, "missing": 0}

    for attempt in range(ATTEMPTS):  # a kill nearly always cuts a sign-on in two
        acquirer = Acquirer(home, attempt)
        answered = asyncio.run(_burst(tc, terminals, acquirer, kill_after=20 + 7 * attempt))
        assert answered >= 20
        after_kill = _census(home)
        if after_kill["orphans"]:
            break
    assert after_kill["orphans"] > 0, "no kill landed inside a sign-on"
    assert after_kill["missing"] == 0
    assert after_kill["all"] == TERMINALS + after_kill["held"] + after_kill["orphans"]

    restarted = Acquirer(home, ATTEMPTS, "--max-per-address", "8", "--first-frame-timeout", "2.5")
    restarted.stop(signal.SIGTERM)
    assert "8 per address; first frame within 2.5s" in restarted.log.read_text()
    after_restart = _census(home)
    assert after_restart == {**after_kill, "all": TERMINALS + after_kill["held"], "orphans": 0}
    swept = f"at start: deleted {after_kill['orphans']} working keys no terminal held"
    assert swept in restarted.log.read_text()
