"""``zhifu clearing calendar``: which years the BEPS holiday calendar knows, and what is covered.

It reads the calendar of the clearing folder of ``zhifu serve`` (``--home``, default
``$ZHIFU_HOME/clearing``): the ``chinesecalendar`` package's years plus ``calendar.toml`` or
``calendar.json`` there (or the file given with ``--file``), and checks that the settlement date
of every BEPS date of the next ``--days`` (60) is known. Exit status 0 when it is, 1 when not
(for a cron job to alert on), 2 for a malformed file. See ``docs/clearing.md#calendar``.

>>> import argparse, tempfile
>>> from zhifu.cli.common import emit
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> home = tempfile.mkdtemp()
>>> args = parser.parse_args(["calendar", "--home", home, "--from", "2026-06-01"])
>>> emit(args.handler(args), False)  # doctest: +ELLIPSIS
chinesecalendar ...: 2004-...
calendar file: none (add .../calendar.toml to add a year: docs/clearing.md#calendar)
years known: 2004-...
covered: the settlement dates of the 60 BEPS dates from 2026-06-01 are known
0
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhifu.cli.checks import home_argument
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

if TYPE_CHECKING:
    from zhifu.clearing.calendar.days import CalendarData

DAYS_MAX = 3660  # ten years ahead is plenty


def register(cmds: SubParsers) -> None:
    """Add ``calendar`` to the ``clearing`` commands."""
    text = (
        "the years the holiday calendar knows (chinesecalendar + the clearing folder's "
        "calendar file) and whether the next 60 days are covered (exit status 1 if not)"
    )
    p = leaf(cmds, "calendar", _calendar, text)
    p.add_argument(
        "--home",
        metavar="DIR",
        help="the clearing folder (default: $ZHIFU_HOME/clearing, i.e. var/clearing, where "
        "`zhifu serve` keeps it)",
    )
    p.add_argument("--file", metavar="FILE", help="check this calendar file instead")
    p.add_argument(
        "--from", dest="start", metavar="YYYY-MM-DD", help="first BEPS date (default: today's)"
    )
    p.add_argument("--days", type=int, default=60, help="how many BEPS dates (default 60)")


def _calendar(args: argparse.Namespace) -> Outcome:
    from zhifu.clearing.calendar.home import (  # noqa: PLC0415 - fast start
        CALENDAR_FILES,
        calendar_gap,
        calendar_path,
        load_calendar,
        missing_year_advice,
        package_version,
        year_runs,
    )

    home = _home(args.home)
    if args.file and not Path(args.file).is_file():
        raise UsageError("no such file", argument="--file")
    try:
        path = Path(args.file) if args.file else calendar_path(home)
        calendar = load_calendar(path)
    except UsageError as exc:  # the calendar file: name the option that led to it
        if exc.argument != "calendar":
            raise
        where = "--file" if args.file else _home_argument(args)
        raise UsageError(exc.message, argument=where) from None
    start, days = _start(args.start), _days(args.days)
    gap = calendar_gap(calendar, start, days)
    target = str(path or home / CALENDAR_FILES[0])
    package = calendar.package_years
    data: dict[str, Any] = {
        "package": {"version": package_version(), "first": package[0], "last": package[-1]},
        "file": _file(path, calendar.data) if path else None,
        "years": sorted(calendar.years),
        "from": start.isoformat(),
        "days": days,
        "covered": gap is None,
        "gap": {"beps_date": gap.day.isoformat(), "year": gap.year} if gap else None,
    }
    lines = [f"chinesecalendar {data['package']['version']}: {package[0]}-{package[-1]}"]
    if path is None:
        lines.append(f"calendar file: none (add {target} to add a year: docs/clearing.md#calendar)")
    else:
        lines.append(f"calendar file {path}: {_file_text(data['file'])}")
    lines.append(f"years known: {year_runs(calendar.years)}")
    if gap is None:
        lines.append(
            f"covered: the settlement dates of the {days} BEPS dates from {start} are known"
        )
    else:
        advice = missing_year_advice(gap, target, ahead=gap.day > start)
        lines.append(f"NOT covered from BEPS date {gap.day}: {advice}")
    return Outcome(data, lines, 0 if gap is None else 1)


def _home(text: str | None) -> Path:
    """``--home`` (which must be a folder: a typo is not read as "no calendar file"), else the
    clearing folder of the data directory."""
    if text:
        if not Path(text).is_dir():
            raise UsageError(f"there is no folder {text}", argument="--home")
        return Path(text)
    from zhifu.codec.home import data_home  # noqa: PLC0415

    return data_home() / "clearing"


def _home_argument(args: argparse.Namespace) -> str | None:
    return "--home" if args.home else home_argument()


def _start(text: str | None) -> date:
    if text is None:
        from zhifu.clearing.calendar.days import beps_date  # noqa: PLC0415
        from zhifu.core.clock import SystemClock  # noqa: PLC0415

        return beps_date(SystemClock().now())
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError("not a date (YYYY-MM-DD)", argument="--from") from None


def _days(days: int) -> int:
    if not 1 <= days <= DAYS_MAX:
        raise UsageError(f"must be 1 to {DAYS_MAX}", argument="days")
    return days


def _file(path: Path, extra: CalendarData) -> dict[str, Any]:
    return {
        "path": str(path),
        "years": sorted(extra.years),
        "holidays": len(extra.holidays),
        "workdays": len(extra.workdays),
    }


def _file_text(found: dict[str, Any]) -> str:
    years = ", ".join(str(y) for y in found["years"]) or "no whole years"
    return f"{years} ({found['holidays']} holidays, {found['workdays']} workdays)"
