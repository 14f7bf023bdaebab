"""Working days and BEPS dates: the Chinese calendar behind a small interface.

BEPS runs 7×24, but its day runs from 16:00 to 16:00 (Asia/Shanghai): an event at or after
16:00:00 belongs to the next BEPS date — the next *calendar* date, working day or not (holiday
business still nets, and settles later). Settlement happens on the first working day on or
after the BEPS date, where working days are the State Council's: weekends and statutory
holidays are off, and make-up working days (调休, often a Saturday or Sunday) are on.

:class:`ChineseCalendar` takes holidays and make-up days from the ``chinesecalendar`` package,
lets a data file (JSON or TOML) add years or override dates, and refuses any year neither of
them knows with :class:`CalendarYearError` (the package only learns a year with a release).
The engine goes on clearing in such a year and holds back only what needs its working days
(settlement dates, receipt expiry, late returns): ``docs/clearing.md#calendar``.

>>> from datetime import date, datetime
>>> from zhifu.core.clock import SHANGHAI
>>> cal = ChineseCalendar()
>>> cal.is_working_day(date(2025, 10, 1)), cal.is_working_day(date(2025, 10, 11))
(False, True)
>>> cal.next_working_day_on_or_after(date(2025, 10, 1))
datetime.date(2025, 10, 9)
>>> beps_date(datetime(2025, 9, 30, 16, 0, tzinfo=SHANGHAI))
datetime.date(2025, 10, 1)
>>> ChineseCalendar().is_working_day(date(2099, 1, 1))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu...CalendarYearError: date: no calendar data for 2099 (known: 2004-2026); ...
"""

from __future__ import annotations

import importlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

CUTOFF: Final = time(16, 0)  # the BEPS day change (日切)
SEARCH_DAYS_MAX: Final = 366  # no run of non-working days is longer than this
DOC: Final = "docs/clearing.md#calendar"  # the calendar file and the operator's procedure


class CalendarYearError(UsageError):
    """A date falls in a year the calendar has no holiday data for."""

    def __init__(self, year: int, known: str) -> None:
        text = f"no calendar data for {year} (known: {known}); add it in a calendar file ({DOC})"
        super().__init__(text, argument="date")
        self.year = year


class BusinessCalendar(Protocol):
    """What clearing asks of a calendar."""

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (refuses unknown years)."""
        ...

    def next_working_day_on_or_after(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next one."""
        ...

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``count`` >= 0; 0 gives ``day``)."""
        ...


def beps_date(instant: datetime, cutoff: time = CUTOFF) -> date:
    """The BEPS date of an instant: its Beijing date, or the next date from ``cutoff`` on."""
    if instant.tzinfo is None:
        raise UsageError("the instant must be timezone-aware", argument="instant")
    local = instant.astimezone(SHANGHAI)
    day = local.date()
    return day + timedelta(days=1) if local.time() >= cutoff else day


def known_working_day(calendar: BusinessCalendar, day: date) -> bool | None:
    """Whether ``day`` is a working day; None when the calendar has no data for its year.

    >>> known_working_day(ChineseCalendar(), date(2025, 10, 1)), known_working_day(
    ...     ChineseCalendar(), date(2099, 1, 1))
    (False, None)
    """
    try:
        return calendar.is_working_day(day)
    except CalendarYearError:
        return None


def day_start(beps_day: date, cutoff: time = CUTOFF) -> datetime:
    """The instant a BEPS date begins: ``cutoff`` on the calendar day before."""
    return datetime.combine(beps_day - timedelta(days=1), cutoff, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class CalendarData:
    """Extra calendar data: whole years, and dates forced off (holidays) or on (workdays).

    For a year listed in ``years`` (or one the package knows) a date is a working day if it is
    in ``workdays``, or a Monday-Friday not in ``holidays``.
    """

    years: frozenset[int] = frozenset()
    holidays: Mapping[date, str] = field(default_factory=dict)
    workdays: Mapping[date, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CalendarData:
        """Read ``{"years": [2027], "holidays": {"2027-01-01": "New Year"}, "workdays": {}}``."""
        unknown = set(data) - {"years", "holidays", "workdays"}
        if unknown:
            raise UsageError(f"unknown calendar keys {sorted(unknown)}", argument="calendar")
        years = data.get("years", [])
        if not isinstance(years, list) or not all(_is_year(y) for y in years):
            raise UsageError("years must be a list of years such as 2027", argument="calendar")
        holidays = _dates(data.get("holidays", {}), "holidays")
        workdays = _dates(data.get("workdays", {}), "workdays")
        both = sorted(set(holidays) & set(workdays))
        if both:
            raise UsageError(f"{both[0]} is both a holiday and a workday", argument="calendar")
        return cls(frozenset(years), holidays, workdays)

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of :meth:`from_mapping` (years and dates sorted).

        >>> CalendarData.from_mapping({"years": [2027], "workdays": {"2027-02-06": "x"}}
        ...     ).to_mapping()
        {'years': [2027], 'holidays': {}, 'workdays': {'2027-02-06': 'x'}}
        """
        return {
            "years": sorted(self.years),
            "holidays": {d.isoformat(): n for d, n in sorted(self.holidays.items())},
            "workdays": {d.isoformat(): n for d, n in sorted(self.workdays.items())},
        }

    @classmethod
    def load(cls, path: str | Path) -> CalendarData:
        """Read a ``.json`` or ``.toml`` calendar file."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"not a calendar file: {exc}", argument="calendar") from None
        if not isinstance(data, dict):
            raise UsageError("a calendar file holds one object", argument="calendar")
        return cls.from_mapping(data)


def _is_year(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 9999


def _dates(raw: object, name: str) -> dict[date, str]:
    if isinstance(raw, list):
        raw = {str(d): "" for d in raw}
    if not isinstance(raw, dict):
        raise UsageError(f"{name} must map ISO dates to names", argument="calendar")
    out: dict[date, str] = {}
    for key, label in raw.items():
        try:
            out[date.fromisoformat(str(key))] = str(label)
        except ValueError:
            raise UsageError(f"{name}: not an ISO date: {key!r}", argument="calendar") from None
    return out


class ChineseCalendar:
    """Mainland China working days: ``chinesecalendar`` data plus optional :class:`CalendarData`."""

    def __init__(self, extra: CalendarData | None = None) -> None:
        self._cc: Any = importlib.import_module("chinese_calendar")
        known = [d.year for d in self._cc.holidays]
        self._package_years = range(min(known), max(known) + 1)
        self._extra = extra or CalendarData()
        self._cache: dict[date, bool] = {}
        self._next: dict[date, date] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> ChineseCalendar:
        """The package's data extended by a calendar file."""
        return cls(CalendarData.load(path))

    @property
    def years(self) -> frozenset[int]:
        """Every year this calendar can answer for."""
        return frozenset(self._package_years) | self._extra.years

    @property
    def package_years(self) -> range:
        """The years the ``chinesecalendar`` package knows."""
        return self._package_years

    @property
    def data(self) -> CalendarData:
        """The data added to the package's (empty without a file)."""
        return self._extra

    def _known(self) -> str:
        first, last = self._package_years[0], self._package_years[-1]
        extra = sorted(self._extra.years - set(self._package_years))
        return f"{first}-{last}" + "".join(f", {y}" for y in extra)

    def is_working_day(self, day: date) -> bool:
        found = self._cache.get(day)
        if found is None:
            found = self._cache[day] = self._compute(day)
        return found

    def _compute(self, day: date) -> bool:
        if day in self._extra.workdays:
            return True
        if day in self._extra.holidays:
            return False
        if day.year in self._extra.years:
            return day.weekday() < 5
        if day.year not in self._package_years:
            raise CalendarYearError(day.year, self._known())
        return bool(self._cc.is_workday(day))

    def next_working_day_on_or_after(self, day: date) -> date:
        found = self._next.get(day)
        if found is None:
            found = self._next[day] = self._search(day)
        return found

    def _search(self, day: date) -> date:
        for offset in range(SEARCH_DAYS_MAX):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise UsageError(f"no working day within a year of {day}", argument="date")

    def add_working_days(self, day: date, count: int) -> date:
        if count < 0:
            raise UsageError("count must be >= 0", argument="count")
        current = day
        for _ in range(count):
            current = self.next_working_day_on_or_after(current + timedelta(days=1))
        return current

    def working_days(self, days: Iterable[date]) -> list[bool]:
        """``is_working_day`` for many dates at once."""
        return [self.is_working_day(d) for d in days]
