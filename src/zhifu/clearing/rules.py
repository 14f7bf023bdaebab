"""The per-item rules (pure): admission checks, receipt deadlines, return deadlines.

- Per-item limit: inclusive, per business type, with an override for items whose BEPS date is
  not a working day (``ClearingConfig.holiday_limits``).
- Receipt deadline of debits (``RtrLtd``): ``n`` working days (0..``receipt_days_max``) counted
  from ``W1``, the first working day on or after the item's BEPS date; the receipt must come in a
  BEPS date no later than ``W1 + n`` working days; the item expires (PR32) when the BEPS date
  moves past that (the day after the due date).
- Real-time items unanswered are returned on the 3rd working day: they expire when the BEPS
  date becomes ``W1 + 2`` working days.
- A netted item may be returned (退回) by the bank that received the money until the BEPS date
  ``return_working_days`` working days after the first working day on or after its netting date.
  When that deadline falls in a year the calendar has no data for, a return is accepted while it
  is certainly in time (no later than ``return_working_days`` calendar days after the netting
  date) and refused ``calendar_unknown`` after that: neither "late" nor "in time" can be told.

>>> from zhifu.clearing.calendar.days import ChineseCalendar
>>> cal = ChineseCalendar()
>>> expires_on(BUSINESS[BusinessType.ORDINARY_DEBIT], date(2025, 9, 30), 1, cal)
datetime.date(2025, 10, 10)
>>> expires_on(BUSINESS[BusinessType.REAL_TIME_CREDIT], date(2025, 10, 1), 0, cal)
datetime.date(2025, 10, 11)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from zhifu.clearing.calendar.days import BusinessCalendar, CalendarYearError
from zhifu.clearing.codes import BUSINESS, BusinessSpec, BusinessType, Deadline, Reason
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.kinds import category_reason
from zhifu.clearing.model import Item, ItemRecord, Participant, Status


def expires_on(
    spec: BusinessSpec, beps_day: date, receipt_days: int, calendar: BusinessCalendar
) -> date | None:
    """The BEPS date from which an unanswered item is expired (None: no receipt needed)."""
    deadline = spec.deadline
    if deadline is Deadline.NONE:
        return None
    first = calendar.next_working_day_on_or_after(beps_day)
    if deadline is Deadline.THIRD_WORKING_DAY:
        return calendar.add_working_days(first, 2)
    return calendar.add_working_days(first, receipt_days) + timedelta(days=1)


def return_deadline(netting_day: date, config: ClearingConfig, calendar: BusinessCalendar) -> date:
    """The last BEPS date on which a netted item may be returned."""
    first = calendar.next_working_day_on_or_after(netting_day)
    return calendar.add_working_days(first, config.return_working_days)


def receipt_days_of(item: Item, config: ClearingConfig) -> int | None:
    """The item's receipt deadline in working days, or None when out of range."""
    days = config.receipt_days if item.receipt_days is None else item.receipt_days
    return days if 0 <= days <= config.receipt_days_max else None


def admission_reason(
    item: Item,
    participants: Mapping[str, Participant],
    config: ClearingConfig,
    working_day: bool | None,
) -> Reason | None:
    """Why an item cannot be admitted (None: it can). Packets and returns are checked apart.

    ``working_day`` is None when the calendar does not know the item's BEPS date yet.
    """
    if item.payer_bank not in participants or item.payee_bank not in participants:
        return Reason.UNKNOWN_BANK
    if item.amount <= 0:
        return Reason.AMOUNT
    limit = config.limit_for(item.business_type, working_day=working_day)
    if limit is not None and item.amount > limit:
        return Reason.LIMIT_EXCEEDED
    receipt_days = BUSINESS[item.business_type].deadline is Deadline.RECEIPT_DAYS
    if receipt_days and receipt_days_of(item, config) is None:
        return Reason.RECEIPT_DAYS
    if item.business_type is BusinessType.CREDIT_RETURN and item.return_of is None:
        return Reason.NOT_RETURNABLE
    return category_reason(item.business_type, item.category)


IN_POSITION = (Status.NETTED, Status.SETTLED, Status.SETTLEMENT_QUEUED)


def return_reason(
    item: Item,
    original: ItemRecord | None,
    today: date,
    config: ClearingConfig,
    calendar: BusinessCalendar,
) -> Reason | None:
    """Why ``item`` cannot return ``original`` (None: it can): a netted, returnable item, not
    returned yet, the same amount back from its payee bank to its payer bank, in time."""
    if original is None:
        return Reason.UNKNOWN_ITEM
    o = original.item
    if (
        item.business_type is not BusinessType.CREDIT_RETURN
        or not BUSINESS[o.business_type].returnable
        or original.status not in IN_POSITION
        or original.returned_by is not None
        or item.amount != o.amount
    ):
        return Reason.NOT_RETURNABLE
    if (item.payer_bank, item.payee_bank) != (o.payee_bank, o.payer_bank):
        return Reason.WRONG_BANK
    assert original.netted_round is not None
    netted = original.netted_round[0]
    try:
        late = today > return_deadline(netted, config, calendar)
    except CalendarYearError:  # each working day is at least a calendar day away
        in_time = today <= netted + timedelta(days=config.return_working_days)
        return None if in_time else Reason.CALENDAR_UNKNOWN
    return Reason.RETURN_LATE if late else None


def return_item(original: Item, return_id: str) -> Item:
    """The credit return (退回) of ``original``: its amount back from its payee bank to its payer.

    >>> return_item(Item("C1", BusinessType.ORDINARY_CREDIT, "A", "B", 100), "R1").payee_bank
    'A'
    """
    return Item(
        return_id,
        BusinessType.CREDIT_RETURN,
        original.payee_bank,
        original.payer_bank,
        original.amount,
        return_of=original.item_id,
    )
