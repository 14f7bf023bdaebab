"""The engine façade: packets, refusals that change nothing, settlement in the ledger."""

from __future__ import annotations

from datetime import datetime

import pytest
from clearing_helpers import A1, A, B, C

from zhifu.clearing import (
    BusinessType,
    ClearingSystem,
    Item,
    LedgerBooks,
    MemoryBooks,
    NodeKind,
    Packet,
    Participant,
    Reason,
    Receipt,
    Status,
)
from zhifu.clearing.netting import Entry, NettingBook, Outcome
from zhifu.clearing.reports import item_rows, reconcile, settlement_rows, to_csv
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

CAPS = {NodeKind.NPC: 100_000_00, NodeKind.CCPC: 50_000_00}
OC = BusinessType.ORDINARY_CREDIT


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def participants() -> list[Participant]:
    return [
        Participant(A, "1000", caps=CAPS),
        Participant(B, "1000", caps=CAPS),
        Participant(C, "2900", caps=CAPS),
        Participant(A1, "1000", direct=False, via=A),
    ]


def system(books: object = None, start: str = "2025-10-09T10:00:00") -> ClearingSystem:
    found = MemoryBooks() if books is None else books
    return ClearingSystem(participants(), start=at(start), books=found)  # type: ignore[arg-type]


def snapshot(s: ClearingSystem) -> tuple[object, ...]:
    return (dict(s.book.bilateral), dict(s.book.open_net), dict(s.book.queues))


def test_packet_with_control_totals() -> None:
    s = system()
    items = [Item(f"P1-{i}", OC, A, C, 100_00, packet_id="P1") for i in range(3)]
    results = s.submit_packet(Packet("P1", A, OC, items, count=3, control_sum=300_00))
    assert [r.status for r in results] == [Status.NETTED] * 3
    with pytest.raises(UsageError, match="CtrlSum"):
        s.submit_packet(
            Packet("P2", A, OC, [Item("x", OC, A, C, 1, packet_id="P2")], control_sum=2)
        )
    with pytest.raises(UsageError, match="NbOfTxs"):
        s.submit_packet(Packet("P2", A, OC, [Item("x", OC, A, C, 1, packet_id="P2")], count=2))


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (Item("u", OC, "999999999999", C, 100), Reason.UNKNOWN_BANK),
        (Item("z", OC, A, C, 0), Reason.AMOUNT),
        (Item("l", OC, A, C, 50_000_01), Reason.LIMIT_EXCEEDED),
        (Item("d", BusinessType.ORDINARY_DEBIT, A, C, 1, receipt_days=9), Reason.RECEIPT_DAYS),
        (Item("r", BusinessType.CREDIT_RETURN, A, C, 1), Reason.NOT_RETURNABLE),
    ],
)
def test_refused_items_change_no_position(item: Item, reason: Reason) -> None:
    s = system()
    before = snapshot(s)
    result = s.submit_item(item)
    assert (result.status, result.reason) == (Status.REJECTED, reason)
    assert snapshot(s) == before


def test_duplicate_id_and_packet_mismatch() -> None:
    s = system()
    assert s.submit_item(Item("x", OC, A, C, 100, packet_id="P")).status is Status.NETTED
    before = snapshot(s)
    again = s.submit_item(Item("x", OC, A, C, 999))
    assert (again.status, again.reason) == (Status.REJECTED, Reason.DUPLICATE_ID)
    assert s.status("x").status is Status.NETTED and snapshot(s) == before
    other = s.submit_item(Item("y", OC, B, C, 100, packet_id="P"))
    assert other.reason is Reason.PACKET_MISMATCH and snapshot(s) == before


def test_receipt_refusals() -> None:
    s = system()
    s.submit_item(Item("d", BusinessType.ORDINARY_DEBIT, A, C, 100))
    assert s.submit_receipt(Receipt("nope", A)).reason is Reason.UNKNOWN_ITEM
    assert s.submit_receipt(Receipt("d", C)).reason is Reason.WRONG_BANK  # payee bank sent it
    assert s.submit_receipt(Receipt("d", A)).accepted
    assert s.submit_receipt(Receipt("d", A)).reason is Reason.NOT_AWAITING
    with pytest.raises(UsageError):
        Receipt("d", A, "77")


def test_time_never_goes_back() -> None:
    s = system()
    with pytest.raises(UsageError):
        s.submit_item(Item("x", OC, A, C, 1), at("2025-10-09T09:00:00"))


def test_settlement_waits_for_funds_then_posts_in_the_ledger() -> None:
    books = LedgerBooks.in_memory()
    s = system(books, start="2025-10-09T10:00:00")
    s.fund(C, 1_000_00)  # A has no funds in its settlement account
    s.submit_item(Item("c1", OC, A1, C, 300_00))  # through A
    s.submit_item(Item("c2", OC, C, B, 100_00))
    s.advance_to(at("2025-10-09T12:00:00"))  # round 2 closes and is due for settlement
    assert s.status("c1").status is Status.SETTLEMENT_QUEUED
    assert books.reserve_balance(C) == 1_000_00 and books.balanced()
    s.fund(A, 500_00, at("2025-10-09T13:00:00"))
    assert s.status("c1").status is Status.SETTLED and s.status("c2").status is Status.SETTLED
    balances = {bank: books.reserve_balance(bank) for bank in (A, B, C)}
    assert balances == {A: 200_00, B: 100_00, C: 1_200_00}
    assert books.balanced()
    assert books.ledger.check().balanced
    assert settlement_rows(s) == [
        {"settlement_date": "2025-10-09", "bank": A, "net": "-300.00", "settled": "-300.00"},
        {"settlement_date": "2025-10-09", "bank": B, "net": "100.00", "settled": "100.00"},
        {"settlement_date": "2025-10-09", "bank": C, "net": "200.00", "settled": "200.00"},
    ]
    report = reconcile(s, at("2025-10-09T10:00:00").date())
    assert report.balanced
    totals = {b.bank: (b.paid_fen, b.received_fen) for b in report.banks}
    assert totals == {A1: (300_00, 0), B: (0, 100_00), C: (100_00, 300_00)}
    books.close()


def test_reports_as_csv() -> None:
    s = system()
    s.submit_item(Item("c1", OC, A, C, 123_45))
    text = to_csv(item_rows(s))
    assert (
        text.splitlines()[0]
        == "id,type,payer_bank,payee_bank,amount,status,reason,netting_date,round,node"
    )
    assert "c1,ordinary_credit,102100099996,104290003791,123.45,PR03,,2025-10-09,2,NPC" in text


def test_participants_are_checked() -> None:
    with pytest.raises(UsageError):
        Participant("12345", "1000")
    with pytest.raises(UsageError):
        Participant(A1, "1000", direct=False)
    with pytest.raises(UsageError):
        Participant(A1, "1000", direct=False, via=A, caps={NodeKind.NPC: 1})
    with pytest.raises(UsageError):  # 'via' must be a registered direct participant
        lone = [Participant(A1, "1000", direct=False, via=A)]
        ClearingSystem(lone, start=at("2025-10-09T10:00:00"), books=MemoryBooks())
    s = system()
    with pytest.raises(UsageError):
        s.set_cap(A1, NodeKind.NPC, 1)


def test_netting_book_queue_revocation_releases_the_next() -> None:
    book = NettingBook({("A", "NPC"): 100}, (at("2025-10-09T10:00:00").date(), 2))
    assert book.submit(Entry("1", "A", "B", "NPC", 90, False)).outcome is Outcome.NETTED
    assert book.submit(Entry("2", "A", "B", "NPC", 50, False)).outcome is Outcome.QUEUED
    assert book.submit(Entry("3", "A", "B", "NPC", 10, False)).outcome is Outcome.QUEUED
    assert book.submit(Entry("4", "A", "B", "NPC", 10, True)).outcome is Outcome.NETTED
    assert book.submit(Entry("5", "A", "B", "NPC", 1, True)).outcome is Outcome.REJECTED
    assert [e.item_id for e in book.remove({"2"})] == []  # "3" needs 10, 0 left
    assert [e.item_id for e in book.set_cap("A", "NPC", 110)] == ["3"]
    assert book.queues == {}
    book.check()
    nets = book.close_round((at("2025-10-09T12:00:00").date(), 3))
    assert nets == {("A", "NPC"): -110, ("B", "NPC"): 110}
    assert book.available("A", "NPC") == 0  # the submitted round still consumes the cap
    book.settle(nets)
    assert book.available("A", "NPC") == 110
