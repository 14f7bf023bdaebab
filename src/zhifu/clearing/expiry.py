"""The receipt deadlines the engine watches: items awaiting a receipt, by their expiry date.

An item needing a receipt expires (PR32) when the BEPS date reaches its expiry date
(:func:`zhifu.clearing.rules.expires_on`). That date is counted in working days; when the
calendar has no holiday data for a year the count runs into, the item waits *without* an
expiry date — it never expires early, and a receipt still nets it — until
:meth:`ReceiptTimers.resolve` is given a calendar that knows the year.

>>> from zhifu.clearing.calendar.days import CalendarData, ChineseCalendar
>>> from zhifu.clearing.codes import BUSINESS, BusinessType
>>> timers, debit = ReceiptTimers(), BUSINESS[BusinessType.ORDINARY_DEBIT]
>>> timers.start("D1", debit, date(2025, 9, 30), 1, ChineseCalendar())
datetime.date(2025, 10, 10)
>>> timers.start("D2", debit, date(2026, 12, 31), 1, ChineseCalendar()) is None  # 2027 unknown
True
>>> timers.due(date(2025, 10, 10)), timers.waiting
(['D1'], ['D2'])
>>> test_year = CalendarData(frozenset({2027}))  # TEST data: Monday-Friday, no holidays
>>> timers.resolve(ChineseCalendar(test_year))
{'D2': datetime.date(2027, 1, 2)}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from zhifu.clearing.calendar.days import BusinessCalendar, CalendarYearError
from zhifu.clearing.codes import BusinessSpec
from zhifu.clearing.rules import expires_on

__all__ = ["ReceiptTimers"]


@dataclass(frozen=True, slots=True)
class _Deadline:
    """What an expiry date is computed from: the rule, the admission BEPS date, ``RtrLtd``."""

    spec: BusinessSpec
    beps_day: date
    receipt_days: int

    def expiry(self, calendar: BusinessCalendar) -> date | None:
        """The expiry date, or None while the calendar lacks a year it needs."""
        try:
            found = expires_on(self.spec, self.beps_day, self.receipt_days, calendar)
        except CalendarYearError:
            return None
        if found is None:
            raise ValueError("this business type needs no receipt")
        return found


class ReceiptTimers:
    """Items awaiting a receipt: by expiry date, or waiting for calendar data."""

    def __init__(self) -> None:
        self._by_date: dict[date, set[str]] = {}
        self._unknown: dict[str, _Deadline] = {}

    @property
    def waiting(self) -> list[str]:
        """The items whose expiry date waits for calendar data."""
        return sorted(self._unknown)

    def start(
        self,
        item_id: str,
        spec: BusinessSpec,
        beps_day: date,
        receipt_days: int,
        calendar: BusinessCalendar,
    ) -> date | None:
        """Watch an item admitted on ``beps_day``; returns its expiry date (None: not known yet)."""
        deadline = _Deadline(spec, beps_day, receipt_days)
        found = deadline.expiry(calendar)
        if found is None:
            self._unknown[item_id] = deadline
        else:
            self._by_date.setdefault(found, set()).add(item_id)
        return found

    def stop(self, item_id: str, expiry: date | None) -> None:
        """Stop watching an item (its receipt came, or its packet was revoked)."""
        if expiry is None:
            self._unknown.pop(item_id, None)
        else:
            self._by_date.get(expiry, set()).discard(item_id)

    def due(self, beps_day: date) -> list[str]:
        """Take the items that expire on ``beps_day`` or before (by date, then id)."""
        found: list[str] = []
        for day in sorted(d for d in self._by_date if d <= beps_day):
            found += sorted(self._by_date.pop(day))
        return found

    def resolve(self, calendar: BusinessCalendar) -> dict[str, date]:
        """Give the waiting items whose year ``calendar`` knows their expiry dates (returned)."""
        found: dict[str, date] = {}
        for item_id, deadline in sorted(self._unknown.items()):
            expiry = deadline.expiry(calendar)
            if expiry is not None:
                del self._unknown[item_id]
                self._by_date.setdefault(expiry, set()).add(item_id)
                found[item_id] = expiry
        return found
