"""The centres' event log: records of every engine call, replayed to the same system.

A business day with every kind of record (packets, a cap queue and its release, receipts, a
revocation, a return, a cap change, funding, a participant added, a calendar change, a round
closed on request, a call that fails) is run through a Recorder, stored, and replayed: the
replayed system is the original one, field for field, and the settlement ledger it shares
with the original run gets no batch twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from zhifu.clearing import (
    BusinessType,
    CalendarData,
    ChineseCalendar,
    Item,
    LedgerBooks,
    MemoryBooks,
    NodeKind,
    Packet,
    Participant,
    Receipt,
)
from zhifu.clearing.agreements import Agreement
from zhifu.clearing.eventlog import EventStore, Recorder, replay
from zhifu.clearing.eventlog.records import Record
from zhifu.clearing.settlement import BooksMismatchError, SettlementBooks
from zhifu.clearing.simulate import outcome_of
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError
from zhifu.ledger import Ledger

A, B, C, A1, E = "102100099996", "103100000026", "104290003791", "313100000013", "105290000012"
OC, OD = BusinessType.ORDINARY_CREDIT, BusinessType.ORDINARY_DEBIT
DAY = datetime(2025, 10, 9, tzinfo=SHANGHAI)  # a Thursday, a working day
TEST_2027 = CalendarData(frozenset({2027}))  # TEST data: a year with no holidays, not 2027's


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def participants() -> list[Participant]:
    loose = {NodeKind.NPC: 100_000_00, NodeKind.CCPC: 50_000_00}
    return [
        Participant(A, "1000", caps={NodeKind.NPC: 1_000_00, NodeKind.CCPC: 50_000_00}),
        Participant(B, "1000", caps=loose),
        Participant(C, "2900", caps=loose),
        Participant(A1, "1000", direct=False, via=A),
    ]


def packet(packet_id: str, *items: Item) -> Packet:
    first = items[0]
    return Packet(packet_id, first.sender, first.business_type, items)


def business_day(books: SettlementBooks) -> Recorder:
    """Every kind of record, up to 15:00 (the day's settlement comes at the 16:00 close)."""
    r = Recorder.start(participants(), at(8), books)
    for bank in (A, B, C):
        r.fund(bank, 1_000_000_00)
    first = r.submit_packet(
        packet("P1", Item("C1", OC, A, C, 600_00, "P1"), Item("C2", OC, A, C, 600_00, "P1")),
        at(9, 30),
        message="P1",
    )
    assert [x.status.value for x in first] == ["PR03", "PR11"]  # A's NPC cap is 1,000.00
    r.submit_packet(packet("P2", Item("D1", OD, A, C, 50_00, "P2", 1)), at(9, 40), message="P2")
    r.submit_receipts([Receipt("D1", A, "00")], at(10), message="R-A-1")  # queues behind C2
    released = r.set_cap(A, NodeKind.NPC, 5_000_00, at(10, 30))
    assert [x.item_id for x in released] == ["C2", "D1"]
    r.submit_packet(packet("P5", Item("D2", OD, B, C, 5_00, "P5")), at(11), message="P5")
    r.revoke_packet("P5", C, at(11, 10))
    r.submit_return("C1", "RET1", at(11, 30))
    r.submit_packet(packet("P8", Item("D3", OD, B, C, 6_00, "P8")), at(11, 40), message="P8")
    assert r.request_stop("D3", C, at(11, 41)).accepted
    assert r.answer_stop("D3", B, True, at(11, 42)).accepted
    rt = Item("RT1", BusinessType.REAL_TIME_CREDIT, B, C, 9_00, "P9")
    r.submit_packet(packet("P9", rt), at(11, 43), message="P9")
    assert r.reverse("RT1", B, at(11, 44)).accepted
    assert r.resolve_gridlock(None, at(11, 45)) == []
    deal = Agreement(
        "AG1", BusinessType.PERIODIC_CREDIT, B, None, 10_00, "day", 15_00,
        DAY.date(), DAY.date(),
    )  # fmt: skip
    assert r.register_agreement(deal, B, at(11, 46)).accepted
    payroll = Item("PC1", BusinessType.PERIODIC_CREDIT, B, C, 9_00, "P10", agreement="AG1")
    r.submit_packet(packet("P10", payroll), at(11, 47), message="P10")
    assert r.revoke_agreement("AG1", B, at(11, 48)).accepted
    r.close_round()  # R2 closes at 12:00 and settles at once on a working day
    r.add_participants([Participant(E, "2900", caps={NodeKind.CCPC: 10_000_00})], at(13))
    r.fund(E, 100_000_00, at(13))
    r.submit_packet(packet("P6", Item("C3", OC, E, C, 77_00, "P6")), at(13, 30), message="P6")
    r.use_calendar(ChineseCalendar(TEST_2027), at(14))
    bad = Packet("P7", B, OC, [Item("C4", OC, B, C, 1_00, "P7")], count=2)
    with pytest.raises(UsageError):
        r.submit_packet(bad, at(14, 30), message="P7")  # refused whole: NbOfTxs is wrong
    r.submit_receipts([Receipt("D9", A, "00")], at(15), message="R-A-2")  # unknown item
    return r


def view(system: Any) -> dict[str, Any]:
    out = outcome_of(system)
    out.pop("requests")
    out["queues"] = repr(system.book.queues)
    out["caps"] = dict(system.book.caps)
    out["packets"] = {k: (p.sender, p.item_ids) for k, p in system.packets.items()}
    out["reserves"] = {b: system.books.reserve_balance(b) for b in (A, B, C)}
    return out


def stored(records: list[Record]) -> list[Record]:
    """The records after a trip through a log."""
    store = EventStore.open("sqlite://")
    store.commit(records)
    found = store.load().records
    store.close()
    return found


def test_every_kind_of_record_replays_to_the_same_system() -> None:
    recorder = business_day(MemoryBooks())
    records = recorder.take()
    kinds = {r["type"] for r in records}
    assert kinds == {"start", "fund", "packet", "receipts", "cap", "revoke", "return", "clock"} | {
        "participants",
        "calendar",
        "stop",
        "stop_answer",
        "reverse",
        "gridlock",
        "agreement",
        "agreement_revoke",
    }
    again = replay(stored(records), MemoryBooks())
    assert view(again) == view(recorder.system)
    assert again.status("C2").status.value == "PR04"  # queued, released by the cap, settled
    assert again.status("D2").status.value == "PR08" and "C4" not in again.records
    assert again.status("PC1").status.value == "PR04"
    assert again.status("D3").status.value == "PR21" and again.status("RT1").status.value == "PR22"
    for system in (recorder.system, again):
        system.advance_to(at(16, 0) + timedelta(seconds=1))
    assert view(again) == view(recorder.system)


def test_replay_on_the_same_ledger_posts_no_batch_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    live = business_day(LedgerBooks(Ledger.open(url)))
    records = live.take()
    live.system.advance_to(at(16, 0) + timedelta(seconds=1))  # settles R3, not in the log
    before = view(live.system)
    live.system.books.close()

    books = LedgerBooks(Ledger.open(url))
    again = replay(stored(records), books, kept_books=True)
    assert {b: books.reserve_balance(b) for b in (A, B, C)} == before["reserves"]
    assert books.replaying is False
    again.advance_to(at(16, 0) + timedelta(seconds=1))  # the settlement found in the ledger
    assert view(again) == before
    assert books.balanced()
    books.close()


def test_books_of_another_run_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    other = LedgerBooks(Ledger.open(url))
    other.open_participants([A, B])
    other.fund(A, 5_00)  # batch 1 of another run, another amount
    other.close()
    books = LedgerBooks(Ledger.open(url))
    books.open_participants([A, B])
    with pytest.raises(BooksMismatchError, match="batch 1"):
        books.fund(A, 1_000_00)
    books.close()


def test_replay_needs_a_start_record() -> None:
    with pytest.raises(UsageError, match="start record"):
        replay([{"type": "clock", "time": at(9).isoformat()}], MemoryBooks())
