"""The live service across restarts, in process: what changed in its folder while it was down,
a ledger without an event log, a log that fails, keys that are not imported twice.

Each service runs on a FixedClock with its folder in tmp_path (real SQLite files, a key store
on disk); the scheduler's tick is called directly, and a "restart" opens a new service on the
same folder without stopping the old one, as after a crash.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from zhifu.clearing import BusinessType, Item, NodeKind
from zhifu.clearing.eventlog import EventStore
from zhifu.clearing.messages.build import build, make_instruction
from zhifu.clearing.service import ClearingService
from zhifu.clearing.signing import Signer
from zhifu.clearing.transport import CentreStoppedError
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.ledger import Ledger
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

A, B, C, E = "102100099996", "103100000026", "104290003791", "105290000012"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)  # a Thursday
LMK = {"ZHIFU_LMK": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
TEST_2027 = "# TEST DATA, not the State Council's 2027 schedule\nyears = [2027]\n"


class Bank:
    def __init__(self, code: str) -> None:
        self.hsm = SoftHsm(KeyStore.in_memory())
        self.signer = Signer(
            self.hsm, self.hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2), code
        )

    def credit(self, item_id: str, payee: str, fen: int) -> bytes:
        item = Item(item_id, BusinessType.ORDINARY_CREDIT, self.signer.code, payee, fen, item_id)
        return build(make_instruction([item], item_id, T0), self.signer)


@pytest.fixture
def bank_a() -> Bank:
    return Bank(A)


def write_participants(home: Path, bank_a: Bank, *extra: dict[str, Any]) -> None:
    caps = {"NPC": "100000.00", "CCPC": "50000.00"}
    rows: list[dict[str, Any]] = [
        {"code": code, "city": city, "caps": caps, "reserve": "1000.00"}
        for code, city in ((A, "1000"), (B, "1000"), (C, "2900"))
    ]
    rows[0]["public_key"] = bank_a.signer.hsm.get_public_key(bank_a.signer.key).hex()
    (home / "participants.json").write_text(json.dumps({"participants": rows + list(extra)}))


@pytest.fixture
def home(tmp_path: Path, bank_a: Bank) -> Path:
    folder = tmp_path / "clearing"
    folder.mkdir()
    write_participants(folder, bank_a)
    return folder


class Services:
    """Open services on one folder; all stopped at the end."""

    def __init__(self, home: Path, environ: dict[str, str] | None = None) -> None:
        self.home = home
        self.environ = environ or {}
        self.clock = FixedClock(T0)
        self.opened: list[ClearingService] = []

    def open(self) -> ClearingService:
        store = KeyStore.open(self.home / "keys.db", environ=LMK)
        service = ClearingService.create(
            SoftHsm(store), home=self.home, clock=self.clock, environ=self.environ
        )
        service.tick()
        self.opened.append(service)
        return service

    def records(self) -> list[dict[str, Any]]:
        default = f"sqlite:///{self.home / 'clearing-events.db'}"
        url = self.environ.get("ZHIFU_DATABASE_URL", default)
        store = EventStore.open(url)
        found = store.load().records
        store.close()
        return found


@pytest.fixture
def services(home: Path) -> Iterator[Services]:
    found = Services(home)
    yield found
    for service in found.opened:
        service.system.books.close()
        if service.store is not None:
            service.store.close()


def test_changes_to_the_folder_while_down_are_applied_at_start(
    services: Services, bank_a: Bank
) -> None:
    first = services.open()
    assert first.centre.receive(bank_a.credit("I1", C, 12_00)).count(b"PR03") == 1
    before = len(services.records())

    newcomer = {"code": E, "city": "2900", "caps": {"CCPC": "500.00"}, "reserve": "77.00"}
    write_participants(services.home, bank_a, newcomer)
    participants = json.loads((services.home / "participants.json").read_text())
    participants["participants"][1]["caps"]["NPC"] = "2000.00"  # B's cross-city cap
    (services.home / "participants.json").write_text(json.dumps(participants))
    (services.home / "calendar.toml").write_text(TEST_2027)
    services.clock.advance(60)

    second = services.open()
    system = second.system
    assert second.replayed == before and system.status("I1").status.value == "PR03"
    assert E in system.participants and system.books.reserve_balance(E) == 77_00
    assert system.book.caps[B, NodeKind.NPC.value] == 2_000_00
    assert 2027 in system.calendar.years
    added = [r["type"] for r in services.records()[before:]]
    assert added == ["participants", "fund", "cap", "calendar"]

    third = services.open()  # nothing changed since: nothing new in the log
    assert len(services.records()) == before + 4
    assert third.system.books.reserve_balance(A) == 1_000_00  # funded once
    services.clock.advance(3 * 3600)  # past the 12:00 close: the round settles
    third.tick()
    assert third.system.books.reserve_balance(A) == 1_000_00 - 12_00


def test_keys_survive_restarts_without_piling_up(services: Services) -> None:
    first = services.open()
    centre_key = first.centre.public_key()
    count = len(first.centre.signer.hsm.list_keys())
    second = services.open()
    assert second.centre.public_key() == centre_key
    assert (services.home / "centre.pub").read_text().strip() == centre_key.hex()
    assert len(second.centre.signer.hsm.list_keys()) == count  # the centre's and A's: reused


def test_a_ledger_without_an_event_log_is_set_aside(services: Services) -> None:
    stale = Ledger.open(f"sqlite:///{services.home / 'clearing-ledger.db'}")
    stale.close()
    service = services.open()
    assert service.system.books.reserve_balance(A) == 1_000_00
    aside = sorted(p.name for p in services.home.glob("clearing-ledger.db.set-aside-*"))
    assert aside and aside[0].startswith("clearing-ledger.db.set-aside-")
    assert service.replayed == 0


def test_a_centre_whose_log_fails_stops_and_a_restart_resumes(
    services: Services, bank_a: Bank
) -> None:
    service = services.open()
    assert b"PR03" in service.centre.receive(bank_a.credit("I1", C, 5_00))
    path = services.home / "clearing-events.db"
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE clearing_events RENAME TO clearing_events_away")
    conn.close()
    with pytest.raises(CentreStoppedError, match="event log failed"):
        service.centre.receive(bank_a.credit("I2", C, 6_00))
    with pytest.raises(CentreStoppedError):
        service.centre.receive(bank_a.credit("I3", C, 7_00))
    with pytest.raises(CentreStoppedError):
        service.centre.reconciliation(A, T0.date())
    assert service.centre.status()["running"] is False
    now = service.system.now
    services.clock.advance(3 * 3600)
    service.tick()
    assert service.system.now == now  # the stopped centre's engine no longer moves

    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE clearing_events_away RENAME TO clearing_events")
    conn.close()
    again = services.open()  # I2 never reached the log: its bank had no answer, sends again
    assert sorted(again.system.records) == ["I1"]
    assert b"PR03" in again.centre.receive(bank_a.credit("I2", C, 6_00))


def test_the_event_log_in_postgresql(home: Path, bank_a: Bank, pg_url: str) -> None:
    services = Services(home, {"ZHIFU_DATABASE_URL": pg_url})
    try:
        first = services.open()
        assert b"PR03" in first.centre.receive(bank_a.credit("I1", C, 9_00))
        assert not (home / "clearing-events.db").exists()
        again = services.open()
        assert again.replayed == len(services.records()) > 0
        assert again.system.status("I1").status.value == "PR03"
        ack = again.centre.receive(bank_a.credit("I1", C, 9_00))
        assert b"duplicate_message" in ack
    finally:
        for service in services.opened:
            service.system.books.close()
            if service.store is not None:
                service.store.close()
