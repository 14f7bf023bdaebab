"""`zhifu serve` killed with SIGKILL in the middle of a BEPS day comes back as it was.

The same business day runs twice through four banks' MBFE clients over HTTP, each time against
a real `zhifu serve` subprocess on free ports of 127.0.0.1, with its own ZHIFU_HOME and a
rehearsal clock (ZHIFU_BEPS_CLOCK_FILE) that the test moves: once without interruption, once
killed with SIGKILL at 11:00 and started again on the same folder. Both runs finish the day (the
12:00 and 16:00 rounds close, net and settle) and are compared: every item's status and round,
the bilateral and participant positions, the settlements, the settlement ledger's balances and
each bank's day-end reconciliation are identical.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from zhifu.clearing import BusinessType, Item, LedgerBooks, Status
from zhifu.clearing.eventlog import EventStore, replay
from zhifu.clearing.mbfe import MbfeClient
from zhifu.clearing.simulate import outcome_of
from zhifu.core.clock import SHANGHAI
from zhifu.ledger import Ledger
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.store import KeyStore

A, B, C, D = "102100099996", "103100000026", "104290003791", "105290000012"
CITIES = {A: "1000", B: "1000", C: "2900", D: "2900"}
DAY = date(2025, 10, 9)  # a Thursday, a working day
OC, OD = BusinessType.ORDINARY_CREDIT, BusinessType.ORDINARY_DEBIT
RC = BusinessType.REAL_TIME_CREDIT
END = f"{DAY}T16:00:01+08:00"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bank:
    """A bank's own security module and signing key (the same in both runs)."""

    code: str
    hsm: SoftHsm = field(default_factory=lambda: SoftHsm(KeyStore.in_memory()))
    key: KeyHandle | None = None

    def __post_init__(self) -> None:
        self.key = self.hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)

    @property
    def public_key(self) -> bytes:
        assert self.key is not None
        return self.hsm.get_public_key(self.key)


@pytest.fixture(scope="module")
def banks() -> dict[str, Bank]:
    return {code: Bank(code) for code in CITIES}


class Server:
    """One `zhifu serve` on a folder, with the rehearsal clock file the test moves."""

    def __init__(self, root: Path, banks: dict[str, Bank]) -> None:
        self.root = root
        self.home = root / "var" / "clearing"
        self.clock_file = root / "clock.txt"
        self.home.mkdir(parents=True)
        tight = {"NPC": "1000.00", "CCPC": "50000.00"}  # A queues cross-city beyond 1,000.00
        loose = {"NPC": "100000.00", "CCPC": "50000.00"}
        participants = [
            {
                "code": code,
                "city": city,
                "caps": tight if code == A else loose,
                "reserve": "1000000.00",
                "public_key": banks[code].public_key.hex(),
            }
            for code, city in CITIES.items()
        ]
        (self.home / "participants.json").write_text(json.dumps({"participants": participants}))
        self.set_clock(f"{DAY}T08:00:00+08:00", wait=False)
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (again on the same port: the banks' clients keep their URL)."""
        self.port = self.port or _free_port()
        env = {
            **os.environ,
            "ZHIFU_HOME": str(self.root / "var"),
            "ZHIFU_BEPS_CLOCK_FILE": str(self.clock_file),
        }
        for name in ("ZHIFU_LMK", "ZHIFU_LMK_FILE", "ZHIFU_DATABASE_URL"):
            env.pop(name, None)
        command = [sys.executable, "-m", "zhifu.cli", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*command, "--no-acquirer"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 45
        while self.status() is None:
            assert self.proc.poll() is None, self.proc.communicate()[0]
            assert time.monotonic() < deadline, "zhifu serve did not start"
            time.sleep(0.2)

    def status(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.url}/clearing/status", timeout=2) as answer:
                found: dict[str, Any] = json.loads(answer.read())
                return found
        except OSError:
            return None

    def set_clock(self, instant: str, *, wait: bool = True) -> None:
        """Move the rehearsal clock; wait until the scheduler has moved the engine there."""
        partial = self.clock_file.with_suffix(".partial")
        partial.write_text(instant)
        os.replace(partial, self.clock_file)
        target = datetime.fromisoformat(instant)
        deadline = time.monotonic() + 20
        while wait:
            found = self.status()
            if found is not None and datetime.fromisoformat(found["now"]) >= target:
                return
            assert time.monotonic() < deadline, f"the engine did not reach {instant}: {found}"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.output.append(self.proc.communicate(timeout=20)[0])
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.output.append(self.proc.communicate(timeout=30)[0])

    def clients(self, banks: dict[str, Bank]) -> dict[str, MbfeClient]:
        centre_key = bytes.fromhex((self.home / "centre.pub").read_text().strip())
        out = {}
        for code, bank in banks.items():
            assert bank.key is not None
            out[code] = MbfeClient(code, bank.key, bank.hsm, self.url, centre_key=centre_key)
        return out


def _statuses(ack: Any) -> list[str]:
    return [line.processing.status.value for line in ack.lines]


def business_day(server: Server, banks: dict[str, Bank], *, crash: bool) -> dict[str, Any]:
    """Run the day; return what the banks saw and what the centre holds at its end."""
    server.start()
    centre_key = (server.home / "centre.pub").read_text()
    bank = server.clients(banks)
    seen: list[Any] = []

    server.set_clock(f"{DAY}T08:30:00+08:00")  # round 1
    seen.append(
        _statuses(bank[A].send_items([Item("A1", OC, A, C, 600_00), Item("A2", OC, A, C, 600_00)]))
    )  # A2 queues (cap)
    seen.append(_statuses(bank[B].send_items([Item("B1", OC, B, A, 250_00)])))
    seen.append(_statuses(bank[C].send_items([Item("C1", OD, A, C, 80_00, receipt_days=1)])))

    server.set_clock(f"{DAY}T10:00:00+08:00")  # round 2 (round 1 settled at 09:00)
    assert [m.header.msg_id[:1] for m in bank[A].receive()] == ["N", "N"]  # B1 and C1
    seen.append(_statuses(bank[A].send_receipts([("C1", "00")])))
    seen.append(_statuses(bank[D].send_items([Item("D1", RC, D, B, 40_00)])))
    bank[B].receive()
    seen.append(_statuses(bank[B].send_receipts([("D1", "00")])))

    server.set_clock(f"{DAY}T11:00:00+08:00")
    seen.append(_statuses(bank[A].send_items([Item("A3", OC, A, D, 300_00)])))
    seen.append(_statuses(bank[C].send_items([Item("C2", OD, B, C, 55_00)])))
    repeat = bank[D].next_msg_id(datetime.now(SHANGHAI))
    seen.append(_statuses(bank[D].send_items([Item("D2", OC, D, C, 12_34)], msg_id=repeat)))

    if crash:
        server.kill()
        server.start()
        assert (server.home / "centre.pub").read_text() == centre_key  # the same centre key

    server.set_clock(f"{DAY}T13:00:00+08:00")  # round 3 (round 2 settled at 12:00)
    again = bank[D].send_items([Item("D3", OC, D, C, 1_00)], msg_id=repeat)
    assert (again.accepted, again.reason) == (False, "duplicate_message")  # the MsgId is kept
    assert [t.item.item_id for m in bank[B].receive() for t in getattr(m, "transactions", ())] == [
        "C2"
    ]  # B's inbox goes on after the restart, nothing twice, nothing lost
    seen.append(_statuses(bank[B].send_receipts([("C2", "00")])))
    seen.append(_statuses(bank[C].send_items([Item("C3", OC, C, A, 700_00)])))
    for client in bank.values():
        client.receive()

    server.set_clock(END)  # round 3 closes at 16:00 and settles at once
    status = server.status()
    assert status is not None and set(status["rounds"]) == {"settled"}, status
    # A and C do not count A2 (queued, released later: not re-announced, docs/clearing.md)
    reconciled = {code: client.reconcile(DAY) for code, client in bank.items()}
    assert [code for code, r in reconciled.items() if not r.matches] == [A, C]
    server.stop()
    return {
        "acks": seen,
        "netted": {code: client.netted for code, client in bank.items()},
        "reconciled": reconciled,
        **centre_state(server.home),
    }


def centre_state(home: Path) -> dict[str, Any]:
    """The centre's state at the day's end, from its folder: the event log replayed (in memory)
    and the balances of its settlement ledger."""
    store = EventStore.open(f"sqlite:///{home / 'clearing-events.db'}")
    loaded = store.load()
    store.close()
    system = replay(loaded.records, LedgerBooks.in_memory())
    system.advance_to(datetime.fromisoformat(END))
    outcome = outcome_of(system)
    outcome.pop("requests")
    books = LedgerBooks(Ledger.open(f"sqlite:///{home / 'clearing-ledger.db'}", create=False))
    balances = {code: books.reserve_balance(code) for code in CITIES}
    books.close()
    return {
        "outcome": outcome,
        "balances": balances,
        "inbox_sizes": {bank: len(box) for bank, box in loaded.inboxes.items()},
    }


@pytest.fixture
def servers(tmp_path: Path, banks: dict[str, Bank]) -> Iterator[tuple[Server, Server]]:
    found = (Server(tmp_path / "straight", banks), Server(tmp_path / "crash", banks))
    yield found
    for server in found:
        server.stop()


def test_a_day_killed_mid_way_ends_as_one_never_interrupted(
    servers: tuple[Server, Server], banks: dict[str, Bank]
) -> None:
    straight, crashed = servers
    expected = business_day(straight, banks, crash=False)
    found = business_day(crashed, banks, crash=True)

    assert found["outcome"] == expected["outcome"]
    assert found["balances"] == expected["balances"]
    assert found == expected
    statuses = {i["id"]: i["status"] for i in expected["outcome"]["items"]}
    assert statuses == {i: Status.SETTLED.value for i in statuses}  # all of it settled
    a_moves = -600_00 - 600_00 + 250_00 - 80_00 - 300_00 + 700_00  # A1 A2 B1 C1 A3 C3
    assert expected["balances"][A] == 1_000_000_00 + a_moves
    rounds = {(r["beps_date"], r["round"]) for r in expected["outcome"]["rounds"]}
    assert rounds == {(str(DAY), 1), (str(DAY), 2), (str(DAY), 3)}
    for out in crashed.output + straight.output:
        assert "Traceback" not in out
    assert "events replayed" in crashed.output[-1]
    home = crashed.home
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    for name in ("clearing-events.db", "clearing-ledger.db", "keys.db", "centre.pub"):
        assert oct((home / name).stat().st_mode & 0o777) == "0o600", name
