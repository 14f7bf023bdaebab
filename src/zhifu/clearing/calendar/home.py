"""The calendar of a clearing home: the operator's data file, what it covers, what to do.

``zhifu serve`` keeps the BEPS centres in ``$ZHIFU_HOME/clearing`` (beside ``participants.json``).
A ``calendar.toml`` or ``calendar.json`` there, in the :class:`~zhifu.clearing.calendar.days.
CalendarData` format, adds years the ``chinesecalendar`` package does not know yet (it learns a
year only with a release) or overrides dates; see ``docs/clearing.md#calendar``.
:class:`CalendarSource` loads it, refuses a malformed one with an error naming the file and the
problem, and loads it again when it changes; :func:`calendar_gap` finds the first BEPS date
whose settlement date cannot be told.

>>> import tempfile
>>> home = Path(tempfile.mkdtemp())
>>> source = CalendarSource(home)  # no file: the package's years only
>>> calendar_gap(source.calendar, date(2026, 11, 25))
CalendarGap(day=datetime.date(2027, 1, 1), year=2027)
>>> _ = (home / "calendar.toml").write_text("years = [2027]\\n")  # TEST data, not 2027's schedule
>>> sorted(source.poll().data.years), calendar_gap(source.calendar, date(2026, 11, 25))
([2027], None)
>>> _ = (home / "calendar.toml").write_text("years = 2027\\n")
>>> source.poll()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: calendar: .../calendar.toml: years must be a list of years ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Final

from zhifu.clearing.calendar.days import (
    BusinessCalendar,
    CalendarData,
    CalendarYearError,
    ChineseCalendar,
)
from zhifu.core.errors import UsageError

__all__ = [
    "CALENDAR_FILES",
    "HORIZON_DAYS",
    "CalendarGap",
    "CalendarSource",
    "calendar_gap",
    "calendar_path",
    "load_calendar",
    "missing_year_advice",
    "package_version",
    "year_runs",
]

CALENDAR_FILES: Final = ("calendar.toml", "calendar.json")
HORIZON_DAYS: Final = 60  # how far ahead the coverage check looks
DOC: Final = "docs/clearing.md#calendar"
PACKAGE: Final = "chinesecalendar"


def package_version() -> str:
    """The installed ``chinesecalendar`` release (``"unknown"`` if its metadata is missing)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def year_runs(years: frozenset[int] | set[int]) -> str:
    """Years as runs: ``2004-2006, 2028``.

    >>> year_runs({2004, 2005, 2006, 2028})
    '2004-2006, 2028'
    """
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and runs[-1][1] == year - 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


def calendar_path(home: Path) -> Path | None:
    """``home``'s calendar file, None when it has none (both names at once is refused)."""
    found = [home / name for name in CALENDAR_FILES if (home / name).exists()]
    if len(found) > 1:
        raise UsageError(
            f"{found[0]} and {found[1]} both exist: keep one calendar file", argument="calendar"
        )
    return found[0] if found else None


def load_calendar(path: Path | None) -> ChineseCalendar:
    """The package's calendar extended by the file at ``path`` (None: the package alone).

    A file that cannot be read or is malformed raises :class:`UsageError` naming it; so does one
    giving dates of a year that neither its ``years`` nor the package knows (half a year of data
    would still leave the settlement dates of that year unknown).
    """
    if path is None:
        return ChineseCalendar()
    try:
        data = CalendarData.load(path)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc.message}", argument="calendar") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text", argument="calendar") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})", argument="calendar") from None
    calendar = ChineseCalendar(data)
    stray = sorted(d for d in (*data.holidays, *data.workdays) if d.year not in calendar.years)
    if stray:
        year = stray[0].year
        raise UsageError(
            f"{path}: {stray[0]} is in {year}, which neither the file's years nor "
            f"{PACKAGE} know: add {year} to years with that year's whole schedule",
            argument="calendar",
        )
    return calendar


@dataclass(frozen=True, slots=True)
class CalendarGap:
    """The first BEPS date whose settlement date cannot be told, and the year missing for it."""

    day: date
    year: int


def calendar_gap(
    calendar: BusinessCalendar, start: date, days: int = HORIZON_DAYS
) -> CalendarGap | None:
    """The first of the ``days`` BEPS dates from ``start`` (included) whose settlement date
    (the first working day on or after it) the calendar cannot tell; None when all are known."""
    for offset in range(days):
        day = start + timedelta(days=offset)
        try:
            calendar.next_working_day_on_or_after(day)
        except CalendarYearError as exc:
            return CalendarGap(day, exc.year)
    return None


def missing_year_advice(gap: CalendarGap, target: str, *, ahead: bool = False) -> str:
    """What the operator reads when holiday data is missing (``ahead``: not yet due).

    >>> print(missing_year_advice(CalendarGap(date(2027, 1, 1), 2027), "var/calendar.toml"))
    no holiday data for 2027: settlement of BEPS dates in 2027 waits (rounds keep closing and \
netting); add the State Council's 2027 schedule to var/calendar.toml \
(docs/clearing.md#calendar) or upgrade chinesecalendar
    """
    year = gap.year
    dates = f"in {year}" if gap.day.year == year else f"from {gap.day.isoformat()}"
    if ahead:
        what = f"settlement of BEPS dates {dates} will wait"
    else:
        what = f"settlement of BEPS dates {dates} waits (rounds keep closing and netting)"
    return (
        f"no holiday data for {year}: {what}; add the State Council's {year} schedule to "
        f"{target} ({DOC}) or upgrade {PACKAGE}"
    )


class CalendarSource:
    """The calendar of a home (None: in memory, the package alone), loaded again on change.

    Creating one loads the file and raises :class:`UsageError` if it is malformed. :meth:`poll`
    looks at the file (one ``stat``, cheap enough for every scheduler tick) and returns the new
    calendar when the file was added, changed or removed.
    """

    def __init__(self, home: Path | None) -> None:
        self.home = home
        self._seen = self._signature()
        self.path = None if home is None else calendar_path(home)
        self.calendar = load_calendar(self.path)

    @property
    def target(self) -> str:
        """Where the operator adds a year: the home's file (``calendar.toml`` when none yet)."""
        if self.path is not None:
            return str(self.path)
        if self.home is not None:
            return str(self.home / CALENDAR_FILES[0])
        return "a calendar.toml in the clearing home"

    def _signature(self) -> tuple[tuple[str, int, int], ...]:
        if self.home is None:
            return ()
        found = []
        for name in CALENDAR_FILES:
            try:
                st = (self.home / name).stat()
            except OSError:
                continue
            found.append((name, st.st_mtime_ns, st.st_size))
        return tuple(found)

    def poll(self) -> ChineseCalendar | None:
        """The calendar loaded again if the file changed since the last look, else None.

        A malformed new version raises :class:`UsageError` once; the calendar in use stays.
        """
        seen = self._signature()
        if seen == self._seen:
            return None
        self._seen = seen
        assert self.home is not None
        path = calendar_path(self.home)
        calendar = load_calendar(path)
        self.path, self.calendar = path, calendar
        return calendar
