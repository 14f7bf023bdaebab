"""Clearing goes on in a year the holiday calendar does not know; settlement waits for its data.

chinesecalendar 1.11.0 knows 2004-2026, so 2027 is the unknown year. The 2027 calendar used to
resolve it here is TEST DATA, made up for these tests (New Year 1-3 January as holidays, Saturday
9 January as a make-up workday): not the State Council's schedule.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from clearing_helpers import A, B, C

from zhifu.clearing import (
    BusinessType,
    CalendarData,
    ChineseCalendar,
    ClearingConfig,
    ClearingSystem,
    Item,
    MemoryBooks,
    NodeKind,
    Participant,
    Reason,
    Receipt,
    Status,
)
from zhifu.clearing.rounds import RoundState
from zhifu.core.clock import SHANGHAI

OC = BusinessType.ORDINARY_CREDIT
CAPS = {NodeKind.NPC: 1_000_00, NodeKind.CCPC: 1_000_00}
TEST_2027 = CalendarData(  # TEST DATA, made up: not the State Council's 2027 schedule
    frozenset({2027}),
    holidays={date(2027, 1, d): "TEST holiday" for d in (1, 2, 3)},
    workdays={date(2027, 1, 9): "TEST make-up workday"},
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def system(
    start: str = "2026-12-31T10:00:00", config: ClearingConfig | None = None
) -> ClearingSystem:
    found = ClearingSystem(
        [Participant(code, "1000", caps=CAPS) for code in (A, B)] + [Participant(C, "2900")],
        start=at(start),
        config=config,
        books=MemoryBooks(),
    )
    for code in (A, B, C):
        found.books.fund(code, 1_000_000_00)
    return found


def test_rounds_close_and_net_in_an_unknown_year_and_settle_when_it_is_known() -> None:
    s = system()
    assert s.submit_item(Item("c0", OC, A, B, 100_00), at("2026-12-31T10:00:00")).status is (
        Status.NETTED
    )
    s.advance_to(at("2026-12-31T16:00:00"))
    assert s.rounds[date(2026, 12, 31), 2].state is RoundState.SETTLED  # 2026 still settles
    first = s.submit_item(Item("c1", OC, A, B, 600_00), at("2027-01-01T08:00:00"))
    assert (first.status, first.netting_date) == (Status.NETTED, date(2027, 1, 1))
    # the round's nets still count in the cap until it settles: 600 used of A's 1,000
    assert s.submit_item(Item("c2", OC, A, B, 500_00), at("2027-01-01T10:00:00")).status is (
        Status.QUEUED
    )
    s.advance_to(at("2027-01-02T12:30:00"))
    assert s.book.current == (date(2027, 1, 2), 3)  # five rounds closed since 16:00
    waiting = s.rounds[date(2027, 1, 1), 1]
    assert (waiting.state, waiting.settlement_date, waiting.settles_at) == (
        RoundState.AWAITING_CALENDAR,
        None,
        None,
    )
    assert waiting.nets == {(A, "CCPC-1000"): -600_00, (B, "CCPC-1000"): 600_00}
    assert s.status("c1").status is Status.NETTED
    assert s.books.reserve_balance(B) == 1_000_100_00  # nothing of 2027 posted
    s.check()

    s.use_calendar(ChineseCalendar(TEST_2027))  # the operator adds 2027
    assert (waiting.state, waiting.settlement_date) == (RoundState.SUBMITTED, date(2027, 1, 4))
    assert waiting.settles_at == at("2027-01-04T08:30:00")
    s.advance_to(at("2027-01-04T08:30:00"))
    assert waiting.state is RoundState.SETTLED
    assert s.status("c1").status is Status.SETTLED
    assert s.status("c2").status is Status.NETTED  # released by the settlement
    assert s.books.reserve_balance(B) == 1_000_700_00


def test_data_arriving_late_settles_at_once() -> None:
    s = system()
    s.submit_item(Item("c1", OC, A, B, 100_00), at("2027-01-01T08:00:00"))
    s.advance_to(at("2027-01-05T10:00:00"))
    assert s.rounds[date(2027, 1, 1), 1].state is RoundState.AWAITING_CALENDAR
    s.use_calendar(ChineseCalendar(TEST_2027))
    record = s.rounds[date(2027, 1, 1), 1]
    assert (record.state, record.settlement_date) == (RoundState.SETTLED, date(2027, 1, 4))
    assert s.books.reserve_balance(B) == 1_000_100_00


def test_unknown_day_takes_the_stricter_per_item_limit() -> None:
    loose = ClearingConfig.from_mapping({"holiday_limits": {"ordinary_credit": "1000000.00"}})
    s = system(config=loose)
    big = Item("h1", OC, A, C, 60_000_00)  # above the 50,000.00 working-day limit
    result = s.submit_item(big, at("2027-01-01T10:00:00"))
    assert (result.status, result.reason) == (Status.REJECTED, Reason.LIMIT_EXCEEDED)
    tight = ClearingConfig.from_mapping({"holiday_limits": {"ordinary_credit": "100.00"}})
    s = system(config=tight)
    result = s.submit_item(Item("h2", OC, A, C, 200_00), at("2027-01-01T10:00:00"))
    assert result.reason is Reason.LIMIT_EXCEEDED
    assert s.submit_item(Item("h3", OC, A, C, 100_00), at("2027-01-01T10:00:00")).status is (
        Status.NETTED
    )


def test_receipt_deadlines_wait_for_the_year() -> None:
    s = system("2026-12-31T09:30:00")
    debit = BusinessType.ORDINARY_DEBIT
    for item_id in ("d1", "d2", "d3"):  # W1 = 31 Dec, two working days after it: 2027
        item = Item(item_id, debit, A, B, 10_00, receipt_days=2)
        assert s.submit_item(item, at("2026-12-31T09:30:00")).status is Status.AWAITING_RECEIPT
    assert s.records["d1"].expires_on is None and s.timers.waiting == ["d1", "d2", "d3"]
    s.advance_to(at("2027-01-08T10:00:00"))  # would be late in most calendars: nothing expires
    assert s.status("d1").status is Status.AWAITING_RECEIPT
    assert s.submit_receipt(Receipt("d1", A, "00")).accepted  # a receipt still nets it
    assert s.status("d1").status is Status.NETTED
    assert s.revoke_packet(s.records["d3"].item.packet, B).accepted  # revocation too
    assert s.status("d3").status is Status.REVOKED
    s.use_calendar(ChineseCalendar(TEST_2027))  # due 5 January (TEST data): d2 expires now
    assert s.records["d2"].expires_on == date(2027, 1, 6)
    assert (s.status("d2").status, s.status("d2").reason) == (Status.EXPIRED, Reason.NO_RECEIPT)
    assert s.timers.waiting == []


def test_returns_while_the_deadline_is_unknown() -> None:
    s = system("2026-12-31T10:00:00")
    for item_id in ("o1", "o2", "o3"):
        s.submit_item(Item(item_id, OC, A, B, 10_00), at("2026-12-31T10:00:00"))
    # netted 31 Dec (a working day); its return deadline is one working day later: in 2027
    assert s.submit_return("o1", "r1", at("2027-01-01T10:00:00")).status is Status.NETTED
    late = s.submit_return("o2", "r2", at("2027-01-02T10:00:00"))  # maybe late: cannot tell
    assert (late.status, late.reason) == (Status.REJECTED, Reason.CALENDAR_UNKNOWN)
    s.use_calendar(ChineseCalendar(TEST_2027))  # TEST data: deadline 4 January
    assert s.submit_return("o2", "r2b", at("2027-01-02T11:00:00")).status is Status.NETTED
    late = s.submit_return("o3", "r3", at("2027-01-05T10:00:00"))
    assert late.reason is Reason.RETURN_LATE


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"years": [True]}, "years must be a list of years"),
        ({"years": [2027], "holidays": ["2027-01-04"], "workdays": ["2027-01-04"]}, "both"),
    ],
)
def test_calendar_data_refusals(data: dict[str, object], problem: str) -> None:
    from zhifu.core.errors import UsageError  # noqa: PLC0415

    with pytest.raises(UsageError, match=problem):
        CalendarData.from_mapping(data)
