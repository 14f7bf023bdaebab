"""Complaints against their SLA (exact at the boundaries) and the reserve-fund reconciliation
(ok, a planted shortfall alerted, each day once)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from zhifu.compliance.complaints import MOVES, SLA, ComplaintBook
from zhifu.compliance.errors import DuplicateError, IllegalTransitionError, NotFoundError
from zhifu.compliance.reserve import Reconciliation, ReserveBook
from zhifu.core.clock import SHANGHAI
from zhifu.ledger import Account, Ledger, Transfer

T0 = datetime(2026, 3, 1, 9, tzinfo=SHANGHAI)
SECOND = timedelta(seconds=1)


def test_the_tables() -> None:
    states = {"received"} | {target for _, target in MOVES.values()}
    for move, (start, target) in MOVES.items():
        assert start <= states and target in states, move
    assert SLA["acknowledge"] < SLA["answer"] == timedelta(days=30)


def test_service_levels_are_exact() -> None:
    book = ComplaintBook.open(":memory:")
    first = book.open_complaint("customer:C1", "Z001", "charged twice", at=T0)
    assert book.overdue(T0 + SLA["acknowledge"]) == []
    assert [c.id for c in book.overdue(T0 + SLA["acknowledge"] + SECOND)] == [first]
    book.move(first, "investigate", actor="agent:wu", note="", at=T0 + timedelta(days=1))
    assert book.overdue(T0 + SLA["answer"]) == []
    assert [c.id for c in book.overdue(T0 + SLA["answer"] + SECOND)] == [first]
    book.move(first, "resolve", actor="agent:wu", note="refunded", at=T0 + timedelta(days=3))
    assert book.overdue(T0 + timedelta(days=90)) == []
    done = book.get(first)
    assert done.state == "resolved" and done.answered == T0 + timedelta(days=3)


def test_moves_follow_the_table_and_statistics_count_them() -> None:
    book = ComplaintBook.open(":memory:")
    a = book.open_complaint("customer:C1", "Z001", "a", at=T0)
    b = book.open_complaint("customer:C2", "Z001", "b", at=T0)
    c = book.open_complaint("customer:C3", "Y002", "c", at=T0.replace(year=2025))
    book.move(a, "reject", actor="agent:wu", note="not ours", at=T0)
    with pytest.raises(IllegalTransitionError):
        book.move(a, "investigate", actor="agent:wu", note="", at=T0)
    with pytest.raises(IllegalTransitionError):
        book.move(b, "reopen", actor="agent:wu", note="", at=T0)
    with pytest.raises(NotFoundError):
        book.get(999)
    assert book.statistics(2026) == {"Z001": {"rejected": 1, "received": 1}}
    assert book.statistics(2025) == {"Y002": {"received": 1}}
    assert c > b > a
    with pytest.raises(Exception, match="never updated"):
        book.db.execute("UPDATE complaints SET subject = 'x'")


def _ledger() -> Ledger:
    ledger = Ledger.open("sqlite://")
    ledger.create_accounts([Account(1, 156, 10111), Account(2, 156, 22411),
                            Account(3, 156, 22411), Account(4, 156, 22412),
                            Account(5, 156, 60211)])  # fmt: skip
    ledger.create_transfers([Transfer(10, 1, 2, 50_000, 156, 1), Transfer(11, 1, 3, 20_000, 156, 1),
                             Transfer(12, 2, 4, 12_345, 156, 1)])  # fmt: skip
    return ledger


def test_a_balanced_day_and_a_shortfall() -> None:
    ledger, book = _ledger(), ReserveBook.open(":memory:")
    alerts: list[Reconciliation] = []
    day = book.reconcile(ledger, institution="Z001", customer_accounts=[2, 3, 4],
                         reserve_account=1, day=date(2026, 3, 1), alert=alerts.append)  # fmt: skip
    assert (day.customers, day.reserve, day.ok, alerts) == (70_000, 70_000, True, [])
    ledger.create_transfers([Transfer(13, 5, 1, 1, 156, 1)])  # one fen off the custody account
    second = date(2026, 3, 2)
    short = book.reconcile(ledger, institution="Z001", customer_accounts=[2, 3, 4],
                           reserve_account=1, day=second, alert=alerts.append)  # fmt: skip
    assert (short.ok, short.difference) == (False, -1) and alerts == [short]  # a shortfall
    with pytest.raises(DuplicateError):
        book.reconcile(ledger, institution="Z001", customer_accounts=[2], reserve_account=1,
                       day=date(2026, 3, 2))  # fmt: skip
    with pytest.raises(NotFoundError):
        book.reconcile(ledger, institution="Z001", customer_accounts=[99], reserve_account=1,
                       day=date(2026, 3, 3))  # fmt: skip
    assert [d.ok for d in book.history("Z001")] == [True, False]
