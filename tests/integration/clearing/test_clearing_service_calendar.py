"""The live BEPS service across the end of the holiday calendar's data (2026 -> 2027).

chinesecalendar 1.11.0 knows 2004-2026. The service runs on a FixedClock with its participants,
calendar file and SQLite ledger in tmp_path; the scheduler's tick is called directly. Every 2027
date written here is TEST DATA, made up for the tests (New Year 1-3 January as holidays): NOT
the State Council's 2027 schedule, which zhifu does not ship.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from zhifu.clearing import BusinessType, Item, Status
from zhifu.clearing.rounds import RoundState
from zhifu.clearing.service import ClearingService
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.core.errors import UsageError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore

A, B, C = "102100099996", "103100000026", "104290003791"  # Beijing, Beijing, Shanghai
CAPS = {"NPC": "100000.00", "CCPC": "50000.00"}
RESERVE = 1_000_000_00
TEST_2027 = """\
# TEST DATA, made up for the tests: NOT the State Council's 2027 schedule
years = [2027]

[holidays]
"2027-01-01" = "TEST holiday"
"2027-01-02" = "TEST holiday"
"2027-01-03" = "TEST holiday"
"""
MISSING = "no holiday data for 2027"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "clearing"
    folder.mkdir()
    participants = [
        {"code": code, "city": city, "caps": CAPS, "reserve": "1000000.00"}
        for code, city in ((A, "1000"), (B, "1000"), (C, "2900"))
    ]
    (folder / "participants.json").write_text(json.dumps({"participants": participants}))
    return folder


class Live:
    """A service on a FixedClock whose scheduler is ticked by the test."""

    def __init__(self, home: Path, start: str) -> None:
        self.clock = FixedClock(at(start))
        self.service = ClearingService.create(
            SoftHsm(KeyStore.in_memory()), home=home, clock=self.clock
        )
        self.service.tick()
        self.serial = 0

    def run_until(self, until: str, step: int = 60) -> None:
        """Tick every ``step`` seconds of the clock up to ``until``."""
        end = at(until)
        while self.clock.now() < end:
            self.clock.advance(min(step, (end - self.clock.now()).total_seconds()))
            self.service.tick()

    def pay(self, payer: str, payee: str, amount: int) -> str:
        self.serial += 1
        item_id = f"I{self.serial}"
        with self.service.centre.lock:
            item = Item(item_id, BusinessType.ORDINARY_CREDIT, payer, payee, amount)
            result = self.service.system.submit_item(item, self.clock.now())
        assert result.status is Status.NETTED, result
        return item_id

    def status(self, item_id: str) -> Status:
        return self.service.system.status(item_id).status

    def balance(self, bank: str) -> int:
        return self.service.system.books.reserve_balance(bank)


@pytest.fixture
def live(home: Path) -> Iterator[Live]:
    found = Live(home, "2026-12-31T15:59:00")
    yield found
    found.service.stop()


def calendar_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR and MISSING in r.message]


def test_rounds_keep_closing_and_settlement_waits(
    live: Live, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zhifu.clearing.service")
    last_of_2026 = live.pay(A, B, 100_00)  # BEPS date 2026-12-31, round 3
    live.run_until("2026-12-31T16:02:00", step=1)  # past the day change, one tick a second
    assert live.status(last_of_2026) is Status.SETTLED
    assert live.service.current_round == (date(2027, 1, 1), 1)
    assert live.balance(B) == RESERVE + 100_00

    items = []
    for hour in ("2026-12-31T18:00", "2027-01-01T10:00", "2027-01-01T13:00", "2027-01-02T10:00"):
        live.run_until(hour)
        items += [live.pay(A, B, 10_00), live.pay(C, A, 20_00)]
    live.run_until("2027-01-02T13:00:00", step=1)  # another hour at a tick a second
    live.run_until("2027-01-02T15:00:00")

    keys = [(date(2027, 1, 1), 1), (date(2027, 1, 1), 2), (date(2027, 1, 1), 3)]
    keys.append((date(2027, 1, 2), 2))
    assert live.service.current_round == (date(2027, 1, 2), 3)  # every cut-off was kept
    assert live.service.awaiting_calendar == keys
    for key in keys:
        record = live.service.system.rounds[key]
        assert record.nets and record.settlement_date is None and record.settles_at is None
    assert {live.status(i) for i in items} == {Status.NETTED}  # netted, nothing settled
    assert live.balance(B) == RESERVE + 100_00  # the ledger saw nothing of 2027
    live.service.system.check()

    errors = calendar_errors(caplog)
    assert [r.message.split(":")[0] for r in errors] == [
        "BEPS date 2027-01-01",
        "BEPS date 2027-01-02",
    ]  # once per BEPS date, not per tick
    assert str(home / "calendar.toml") in errors[0].message
    assert "docs/clearing.md#calendar" in errors[0].message
    assert "upgrade chinesecalendar" in errors[0].message
    assert all(r.exc_info is None for r in caplog.records)  # no traceback
    started = caplog.get_records("setup") + caplog.records  # the service started at 15:59
    ahead = [r for r in started if r.levelno == logging.WARNING and MISSING in r.message]
    assert [r.message.split(":")[0] for r in ahead] == ["BEPS date 2026-12-31"]  # a warning ahead


def test_calendar_file_added_while_running_settles_the_deferred_rounds(
    live: Live, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zhifu.clearing.service")
    items = []
    for hour in ("2027-01-01T10:00", "2027-01-02T10:00", "2027-01-04T08:00"):
        live.run_until(hour, step=600)
        items.append(live.pay(A, B, 10_00))
    live.run_until("2027-01-04T10:00:00", step=600)  # Monday: still no data, nothing settles
    assert len(live.service.awaiting_calendar) == 3
    assert live.balance(B) == RESERVE

    (home / "calendar.toml").write_text(TEST_2027, encoding="utf-8")
    live.clock.advance(1)
    live.service.tick()  # the first tick after the file appears
    assert live.service.awaiting_calendar == []
    for key in ((date(2027, 1, 1), 2), (date(2027, 1, 2), 2), (date(2027, 1, 4), 1)):
        record = live.service.system.rounds[key]
        assert (record.state, record.settlement_date) == (RoundState.SETTLED, date(2027, 1, 4))
    assert {live.status(i) for i in items} == {Status.SETTLED}
    assert live.balance(B) == RESERVE + 30_00
    reloaded = [r.message for r in caplog.records if "reloaded" in r.message]
    assert len(reloaded) == 1 and str(home / "calendar.toml") in reloaded[0]
    assert "3 before, 0 now" in reloaded[0]

    caplog.clear()
    live.run_until("2027-01-05T10:00:00", step=600)
    assert calendar_errors(caplog) == []
    later = live.pay(A, B, 5_00)
    live.run_until("2027-01-05T12:00:01", step=600)
    assert live.status(later) is Status.SETTLED  # a TEST working day: settles at the close


def test_a_malformed_new_version_is_reported_once_and_the_old_data_stays(
    live: Live, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zhifu.clearing.service")
    path = home / "calendar.toml"
    path.write_text(TEST_2027, encoding="utf-8")
    live.run_until("2026-12-31T16:30:00")
    assert 2027 in live.service.system.calendar.years
    path.write_text("years = [2027", encoding="utf-8")  # half-saved
    live.run_until("2027-01-01T10:00:00")
    bad = [r.message for r in caplog.records if "not reloaded" in r.message]
    assert len(bad) == 1 and str(path) in bad[0] and "not a calendar file" in bad[0]
    item = live.pay(A, B, 10_00)
    live.run_until("2027-01-04T08:31:00", step=600)
    assert live.status(item) is Status.SETTLED  # the TEST data loaded first still answers


def test_restart_with_the_file(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zhifu.clearing.service")
    (home / "calendar.json").write_text(
        json.dumps({"years": [2027], "holidays": {"2027-01-01": "TEST holiday, made up"}})
    )
    found = Live(home, "2027-01-01T08:00:00")
    try:
        item = found.pay(A, B, 10_00)
        found.run_until("2027-01-01T09:00:01")
        record = found.service.system.rounds[date(2027, 1, 1), 1]
        assert (record.state, record.settlement_date) == (RoundState.SUBMITTED, date(2027, 1, 4))
        found.run_until("2027-01-04T08:30:00", step=3600)
        assert found.status(item) is Status.SETTLED
        assert calendar_errors(caplog) == []
    finally:
        found.service.stop()


def test_a_malformed_file_is_refused_at_start(home: Path) -> None:
    path = home / "calendar.json"
    path.write_text('{"years": [2027], "holidays": {"2027-01-32": "x"}}')
    with pytest.raises(UsageError, match="not an ISO date") as caught:
        ClearingService.create(
            SoftHsm(KeyStore.in_memory()),
            home=home,
            clock=FixedClock(at("2026-12-31T15:00:00")),
        )
    assert str(path) in str(caught.value)
