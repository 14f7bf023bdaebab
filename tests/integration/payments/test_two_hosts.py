"""Two ``zhifu acquirer run`` processes on one data directory and one PostgreSQL ledger: a
retransmission that reaches the other host gets the same answer and posts nothing more, and
the same request sent to both at once posts once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, AcquirerHost, register_terminal
from zhifu.iso8583 import Message
from zhifu.ledger import Ledger
from zhifu.terminal import Terminal

from .conftest import MID, pan_of, purchase_request, replay

LMK = "3E" * 32
STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _start(home: Path, ledger_url: str, n: int) -> int:
    log = home.parent / f"host-{n}.log"
    src = str(Path(__file__).resolve().parents[3] / "src")
    env = {
        **os.environ,
        "ZHIFU_HOME": str(home),
        "ZHIFU_LMK": LMK,
        "ZHIFU_LEDGER_URL": ledger_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "zhifu", "acquirer", "run", "--port", "0"]
    with log.open("wb") as out:
        STARTED.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=out))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return int(found.group(1))
        time.sleep(0.05)
    raise AssertionError("a host did not start: " + log.read_text())


def test_duplicates_across_two_host_processes_on_postgresql(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.setenv("ZHIFU_LEDGER_URL", pg_url)
    home = tmp_path / "var"
    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    reg = register_terminal(host.services.registry, host.services.hsm, MID, "10000055")
    card = tmp_path / "card-0.json"
    issuer = host.services.issuer
    issuer.issue_card("debit", 100_000, "1234", card)  # type: ignore[union-attr]
    host.close()
    ports = [_start(home, pg_url, 0), _start(home, pg_url, 1)]
    parts = [c.material.reveal().hex() for c in reg.components]
    term = Terminal.init(tmp_path / "term", MID, "10000055", parts)
    assert term.sign_on(f"127.0.0.1:{ports[0]}").get("39") == "00"

    request = purchase_request(term, card, 1_000)
    first = replay(term, request)
    term.link(f"127.0.0.1:{ports[1]}")
    again = replay(term, request)
    assert first["39"] == again["39"] == "00" and first["38"] == again["38"]

    both = purchase_request(term, card, 2_000)
    answers: list[Message] = []

    def send(port: int) -> None:
        other = Terminal(term.state.folder)
        other.link(f"127.0.0.1:{port}")
        answers.append(replay(other, both))
        other.close()

    threads = [threading.Thread(target=send, args=(port,)) for port in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 2 and all(a["39"] == "00" for a in answers), [a["39"] for a in answers]
    assert answers[0]["38"] == answers[1]["38"]
    for process in STARTED:
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    try:
        balances = host.services.issuer.balances(pan_of(card))  # type: ignore[union-attr]
        assert balances.available == 100_000 - 1_000 - 2_000
        ledger = Ledger.open(pg_url)
        assert ledger.check().balanced
        ledger.close()
    finally:
        host.close()
