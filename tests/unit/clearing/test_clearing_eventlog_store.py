"""The event log's tables on a real SQLite file (and PostgreSQL when it is installed).

Records and inbox messages committed together come back in order after the file is opened
again; a torn last record is set aside and replay goes on from the records before it; damage
before the last record stops the load; a second writer cannot append under a taken number.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from zhifu.clearing import BusinessType, Item, MemoryBooks, NodeKind, Packet, Participant
from zhifu.clearing.eventlog import EventLogError, EventStore, Recorder, replay
from zhifu.clearing.eventlog.records import Record
from zhifu.core.clock import SHANGHAI

A, C = "102100099996", "104290003791"
T0 = datetime(2025, 10, 9, 10, tzinfo=SHANGHAI)


def day_records(count: int) -> list[Record]:
    """A start, then ``count`` one-item credits from A to C, a minute apart."""
    caps = {NodeKind.NPC: 10_000_00}
    banks = [Participant(A, "1000", caps=caps), Participant(C, "2900", caps=caps)]
    recorder = Recorder.start(banks, T0, MemoryBooks())
    for n in range(1, count + 1):
        item = Item(f"C{n}", BusinessType.ORDINARY_CREDIT, A, C, n * 100, f"P{n}")
        packet = Packet(f"P{n}", A, item.business_type, [item])
        recorder.submit_packet(packet, T0 + timedelta(minutes=n), message=f"P{n}")
    return recorder.take()


def _sql(path: Path, statement: str, *args: Any) -> list[Any]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(statement, args).fetchall()
    conn.close()
    return rows


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "clearing-events.db"


def test_records_and_inboxes_come_back_in_order(log_file: Path) -> None:
    records = day_records(3)
    store = EventStore.open(f"sqlite:///{log_file}")
    assert store.empty
    assert store.commit(records[:2], [(C, b"<one/>"), (C, b"<two/>")]) == [1, 2]
    assert store.commit(records[2:], [(A, b"<a/>"), (C, b"<three/>")]) == [1, 3]
    store.close()
    assert oct(log_file.stat().st_mode & 0o777) == "0o600"
    wal = log_file.with_name(log_file.name + "-wal")
    assert not wal.exists() or oct(wal.stat().st_mode & 0o777) == "0o600"

    again = EventStore.open(f"sqlite:///{log_file}")
    loaded = again.load()
    assert loaded.records == records and loaded.torn is None
    assert loaded.inboxes == {C: [b"<one/>", b"<two/>", b"<three/>"], A: [b"<a/>"]}
    assert again.commit([], [(C, b"<four/>")]) == [4]  # numbering goes on after a reopen
    assert _sql(log_file, "SELECT seq, kind FROM clearing_events ORDER BY seq")[-1] == (4, "packet")
    again.close()


def test_a_torn_last_record_is_set_aside_and_replay_goes_on(log_file: Path) -> None:
    records = day_records(3)
    store = EventStore.open(f"sqlite:///{log_file}")
    store.commit(records)
    store.close()
    body = _sql(log_file, "SELECT body FROM clearing_events WHERE seq = 4")[0][0]
    _sql(log_file, "UPDATE clearing_events SET body = ? WHERE seq = 4", body[: len(body) // 2])

    store = EventStore.open(f"sqlite:///{log_file}")
    loaded = store.load()
    assert loaded.torn == 4 and loaded.records == records[:3]
    system = replay(loaded.records, MemoryBooks())
    assert sorted(system.records) == ["C1", "C2"]  # C3's record was the torn one
    assert _sql(log_file, "SELECT seq, body FROM clearing_torn") == [(4, body[: len(body) // 2])]

    store.commit(records[3:])  # C3 comes again (the bank never had its confirmation)
    assert store.load().records == records and store.load().torn is None
    store.close()


def test_damage_before_the_last_record_stops_the_load(log_file: Path) -> None:
    store = EventStore.open(f"sqlite:///{log_file}")
    store.commit(day_records(3))
    _sql(log_file, "UPDATE clearing_events SET body = replace(body, '200', '900') WHERE seq = 3")
    with pytest.raises(EventLogError, match="event 3 of the log is damaged"):
        store.load()
    assert len(_sql(log_file, "SELECT seq FROM clearing_events")) == 4  # nothing moved
    store.close()


def test_a_second_writer_cannot_take_a_number(log_file: Path) -> None:
    records = day_records(2)
    first = EventStore.open(f"sqlite:///{log_file}")
    second = EventStore.open(f"sqlite:///{log_file}")
    first.commit(records[:2])
    with pytest.raises(EventLogError, match="another writer"):
        second.commit(records[:1])
    assert second.load().records == records[:2]
    first.close()
    second.close()


def test_reserved_numbers_are_never_handed_out_twice(log_file: Path) -> None:
    store = EventStore.open(f"sqlite:///{log_file}")
    assert store.reserve("serial", 10) == 1
    store.close()
    store = EventStore.open(f"sqlite:///{log_file}")
    assert (store.reserve("serial", 10), store.reserve("other", 5)) == (11, 1)
    store.close()


def test_the_log_on_postgresql(pg_url: str) -> None:
    records = day_records(3)
    store = EventStore.open(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    store.commit(records[:3], [(C, b"<one/>")])
    store.commit(records[3:])
    assert store.reserve("serial", 100) == 1
    store.close()
    again = EventStore.open(pg_url)
    loaded = again.load()
    assert loaded.records == records and loaded.inboxes == {C: [b"<one/>"]}
    assert again.reserve("serial", 100) == 101
    with again.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE clearing_events SET digest = 'x' WHERE seq = 4")
    assert again.load().torn == 4
    again.close()
