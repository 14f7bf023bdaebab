"""Netting rounds, the day's schedule, and what a round close submits to SAPS.

A BEPS date ``D`` runs from 16:00 on ``D-1`` to 16:00 on ``D``; its rounds end at the close
times of the schedule (default 09:00, 12:00, 16:00: R1 = [16:00 of D-1, 09:00), R2 = [09:00,
12:00), R3 = [12:00, 16:00)). A round is named ``(D, n)`` (``NetgDt``, ``NetgRnd``). At its
close the round's bilateral positions are summed per participant and submitted to SAPS; SAPS
settles them on the first working day on or after ``D``: at the close itself when that is
already a working day, else at ``settlement_time`` (default 08:30) of that working day. When the
calendar has no holiday data for the year that search runs into, the round is submitted all the
same (its nets stay in the cap formula) and *awaits calendar data*: it gets its settlement date
when the calendar learns the year (``ClearingSystem.use_calendar``).

>>> from datetime import datetime
>>> from zhifu.core.clock import SHANGHAI
>>> s = RoundSchedule.parse(["09:00", "12:00", "16:00"])
>>> s.round_of(datetime(2025, 9, 30, 15, 59, 59, tzinfo=SHANGHAI))
(datetime.date(2025, 9, 30), 3)
>>> s.round_of(datetime(2025, 9, 30, 16, 0, tzinfo=SHANGHAI))
(datetime.date(2025, 10, 1), 1)
>>> s.close_instant((date(2025, 10, 1), 1)).isoformat()
'2025-10-01T09:00:00+08:00'
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from itertools import pairwise
from typing import Final, TypeAlias

from zhifu.clearing.calendar.days import (
    CUTOFF,
    BusinessCalendar,
    CalendarYearError,
    beps_date,
    day_start,
)
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

RoundKey: TypeAlias = tuple[date, int]  # (BEPS date, round number 1..n)
DAY_SECONDS: Final = 86_400
ROUNDS_MAX: Final = 99  # NetgRnd is two digits


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def parse_time(text: str, argument: str = "time") -> time:
    """``"HH:MM"`` or ``"HH:MM:SS"``."""
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError):
        raise UsageError(f"not a time of day: {text!r}", argument=argument) from None


@dataclass(frozen=True)
class RoundSchedule:
    """Round close times of every BEPS date, and when SAPS settles on a working day."""

    closes: tuple[time, ...] = (time(9), time(12), time(16))
    cutoff: time = CUTOFF
    settlement_time: time = time(8, 30)
    offsets: tuple[int, ...] = field(init=False, repr=False)  # close, seconds after day start

    def __post_init__(self) -> None:
        base = _seconds(self.cutoff)
        offsets = tuple((_seconds(c) - base) % DAY_SECONDS or DAY_SECONDS for c in self.closes)
        if not offsets or offsets[-1] != DAY_SECONDS:
            raise UsageError("the last round closes at the cutoff (16:00)", argument="rounds")
        if any(b <= a for a, b in pairwise(offsets)):
            raise UsageError("round closes must increase through the day", argument="rounds")
        if len(offsets) > ROUNDS_MAX:
            raise UsageError(f"at most {ROUNDS_MAX} rounds a day", argument="rounds")
        object.__setattr__(self, "offsets", offsets)

    @classmethod
    def parse(cls, closes: Sequence[str], settlement_time: str = "08:30") -> RoundSchedule:
        """A schedule from ``"HH:MM"`` strings, in order from the day start (16:00)."""
        times = tuple(parse_time(c, "rounds") for c in closes)
        return cls(times, settlement_time=parse_time(settlement_time, "settlement_time"))

    @property
    def rounds_per_day(self) -> int:
        return len(self.offsets)

    def round_of(self, instant: datetime) -> RoundKey:
        """The round an instant belongs to."""
        local = instant.astimezone(SHANGHAI)
        offset = (_seconds(local.time()) - _seconds(self.cutoff)) % DAY_SECONDS
        return beps_date(local, self.cutoff), 1 + bisect_right(self.offsets, offset)

    def open_instant(self, key: RoundKey) -> datetime:
        day, number = key
        start = day_start(day, self.cutoff)
        return start if number == 1 else start + timedelta(seconds=self.offsets[number - 2])

    def close_instant(self, key: RoundKey) -> datetime:
        day, number = key
        return day_start(day, self.cutoff) + timedelta(seconds=self.offsets[number - 1])

    def next_round(self, key: RoundKey) -> RoundKey:
        day, number = key
        return (day, number + 1) if number < len(self.offsets) else (day + timedelta(1), 1)

    def settlement_instant(self, key: RoundKey, calendar: BusinessCalendar) -> datetime:
        """When SAPS settles a round: its close, or the settlement time of the working day."""
        settle_day = calendar.next_working_day_on_or_after(key[0])
        opening = datetime.combine(settle_day, self.settlement_time, tzinfo=SHANGHAI)
        return max(self.close_instant(key), opening)


class RoundState(Enum):
    """A round's life: open, submitted to SAPS, settled (or waiting for funds at SAPS).

    ``AWAITING_CALENDAR``: submitted, but its settlement date needs holiday data for a year the
    calendar does not know yet.
    """

    OPEN = "open"
    SUBMITTED = "submitted"
    AWAITING_CALENDAR = "awaiting_calendar"
    SETTLEMENT_QUEUED = "settlement_queued"
    SETTLED = "settled"


@dataclass(slots=True)
class RoundRecord:
    """One round: its state, the per-participant nets submitted, and when it settles."""

    key: RoundKey
    state: RoundState = RoundState.OPEN
    settlement_date: date | None = None
    settles_at: datetime | None = None
    nets: dict[tuple[str, str], int] = field(default_factory=dict)  # (bank, node) -> fen
    items: list[str] = field(default_factory=list)  # ids of the items netted in it


def participant_nets(bilateral: Mapping[tuple[str, str, str], int]) -> dict[tuple[str, str], int]:
    """Sum bilateral positions ``(node, a, b) -> a's net credit`` per ``(bank, node)``.

    >>> participant_nets({("NPC", "A", "B"): 30, ("NPC", "A", "C"): -10})
    {('A', 'NPC'): 20, ('B', 'NPC'): -30, ('C', 'NPC'): 10}
    """
    nets: dict[tuple[str, str], int] = defaultdict(int)
    for (node, a, b), net in bilateral.items():
        nets[a, node] += net
        nets[b, node] -= net
    assert sum(nets.values()) == 0, "participant nets of a round must sum to zero"
    return dict(nets)


def close_round(
    record: RoundRecord,
    bilateral: Mapping[tuple[str, str, str], int],
    schedule: RoundSchedule,
    calendar: BusinessCalendar,
) -> RoundRecord:
    """Close a round: per-participant nets, settlement date and instant; state SUBMITTED (or
    AWAITING_CALENDAR when the calendar cannot tell the settlement date yet)."""
    record.nets = participant_nets(bilateral)
    schedule_settlement(record, schedule, calendar)
    return record


def schedule_settlement(
    record: RoundRecord, schedule: RoundSchedule, calendar: BusinessCalendar
) -> bool:
    """Give a closed round its settlement date and instant (state SUBMITTED); without holiday
    data for the year that needs, leave them unset (state AWAITING_CALENDAR) and return False.

    >>> from zhifu.clearing.calendar.days import ChineseCalendar
    >>> record = RoundRecord((date(2099, 1, 1), 1))
    >>> schedule_settlement(record, RoundSchedule(), ChineseCalendar()), record.state.value
    (False, 'awaiting_calendar')
    """
    try:
        settlement_date = calendar.next_working_day_on_or_after(record.key[0])
        settles_at = schedule.settlement_instant(record.key, calendar)
    except CalendarYearError:
        record.state = RoundState.AWAITING_CALENDAR
        return False
    record.settlement_date, record.settles_at = settlement_date, settles_at
    record.state = RoundState.SUBMITTED
    return True


def schedule_waiting(
    records: Iterable[RoundRecord], schedule: RoundSchedule, calendar: BusinessCalendar
) -> list[RoundRecord]:
    """:func:`schedule_settlement` for the rounds awaiting calendar data; returns those that
    ``calendar`` could schedule."""
    waiting = [r for r in records if r.state is RoundState.AWAITING_CALENDAR]
    return [r for r in waiting if schedule_settlement(r, schedule, calendar)]


def settlement_totals(records: Iterable[RoundRecord]) -> dict[str, int]:
    """Per-bank net of several rounds settled together (positive: the bank receives)."""
    totals: dict[str, int] = defaultdict(int)
    for record in records:
        for (bank, _node), net in record.nets.items():
            totals[bank] += net
    assert sum(totals.values()) == 0
    return {bank: net for bank, net in sorted(totals.items()) if net}
