"""Calendar, BEPS dates and round schedules.

Calendar facts: chinesecalendar 1.11.0 (docs/standards/clearing.md §4): National Day 2025 = 1-8 Oct
with make-up working days Sun 28 Sep and Sat 11 Oct; 2026 National Day 1-7 Oct, make-up Sun 20 Sep
and Sat 10 Oct; data covers 2004-2026.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

import pytest

from zhifu.clearing.calendar.days import CalendarData, CalendarYearError, ChineseCalendar, beps_date
from zhifu.clearing.rounds import RoundSchedule
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

CAL = ChineseCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 26), True),  # Friday
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # Sunday, make-up working day
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, make-up working day
        (date(2025, 10, 12), False),
        (date(2026, 9, 20), True),  # docs/standards/clearing.md §4 behaviour checks
        (date(2026, 10, 1), False),
        (date(2026, 10, 10), True),
        (date(2026, 10, 11), False),
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_next_working_day_and_counting() -> None:
    assert CAL.next_working_day_on_or_after(date(2025, 10, 1)) == date(2025, 10, 9)
    assert CAL.next_working_day_on_or_after(date(2025, 10, 9)) == date(2025, 10, 9)
    assert CAL.next_working_day_on_or_after(date(2025, 9, 27)) == date(2025, 9, 28)
    # docs/standards/clearing.md §4: find_workday(3, 2026-09-29) = 2026-10-09
    assert CAL.add_working_days(date(2026, 9, 29), 3) == date(2026, 10, 9)
    with pytest.raises(UsageError):
        CAL.add_working_days(date(2026, 9, 29), -1)


def test_unknown_year_is_refused() -> None:
    with pytest.raises(CalendarYearError) as caught:
        CAL.is_working_day(date(2027, 1, 4))
    assert caught.value.year == 2027
    with pytest.raises(CalendarYearError):  # the search crosses into 2027
        CAL.add_working_days(date(2026, 12, 31), 1)


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_data_file_extends_the_calendar(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"extra{suffix}"
    if suffix == ".json":
        path.write_text(
            json.dumps(
                {
                    "years": [2027],
                    "holidays": {"2027-01-01": "New Year"},
                    "workdays": {"2027-01-02": "make-up"},
                }
            )
        )
    else:
        path.write_text(
            'years = [2027]\n[holidays]\n"2027-01-01" = "New Year"\n'
            '[workdays]\n"2027-01-02" = "make-up"\n'
        )
    cal = ChineseCalendar.from_file(path)
    assert not cal.is_working_day(date(2027, 1, 1))  # a Friday made a holiday
    assert cal.is_working_day(date(2027, 1, 2))  # a Saturday made a working day
    assert not cal.is_working_day(date(2027, 1, 3))
    assert cal.is_working_day(date(2025, 10, 9))  # package years still answer
    assert 2027 in cal.years
    with pytest.raises(CalendarYearError):
        cal.is_working_day(date(2028, 1, 3))


def test_data_file_errors() -> None:
    with pytest.raises(UsageError):
        CalendarData.from_mapping({"years": "2027"})
    with pytest.raises(UsageError):
        CalendarData.from_mapping({"holidays": {"2027-13-01": "x"}})
    with pytest.raises(UsageError):
        CalendarData.from_mapping({"unknown": 1})


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2025-09-30T15:59:59.999999", date(2025, 9, 30)),
        ("2025-09-30T16:00:00", date(2025, 10, 1)),  # the cutoff is inclusive
        ("2025-09-30T23:59:59", date(2025, 10, 1)),
        ("2025-10-01T00:00:00", date(2025, 10, 1)),
        ("2025-09-30T08:00:00+00:00", date(2025, 10, 1)),  # 16:00 in Beijing
    ],
)
def test_beps_date(instant: str, expected: date) -> None:
    moment = datetime.fromisoformat(instant)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    assert beps_date(moment) == expected


def test_beps_date_needs_a_timezone() -> None:
    with pytest.raises(UsageError):
        beps_date(datetime(2025, 10, 1, 12))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("instant", "key"),
    [
        ("2025-10-08T16:00:00", (date(2025, 10, 9), 1)),
        ("2025-10-09T08:59:59", (date(2025, 10, 9), 1)),
        ("2025-10-09T09:00:00", (date(2025, 10, 9), 2)),
        ("2025-10-09T11:59:59", (date(2025, 10, 9), 2)),
        ("2025-10-09T12:00:00", (date(2025, 10, 9), 3)),
        ("2025-10-09T15:59:59", (date(2025, 10, 9), 3)),
        ("2025-10-09T16:00:00", (date(2025, 10, 10), 1)),
    ],
)
def test_default_rounds(instant: str, key: tuple[date, int]) -> None:
    assert RoundSchedule().round_of(at(instant)) == key


def test_custom_schedule_with_an_evening_round() -> None:
    schedule = RoundSchedule.parse(["20:00", "10:00", "16:00"], "09:00")
    assert schedule.round_of(at("2025-10-08T19:59:59")) == (date(2025, 10, 9), 1)
    assert schedule.round_of(at("2025-10-08T20:00:00")) == (date(2025, 10, 9), 2)
    assert schedule.close_instant((date(2025, 10, 9), 1)) == at("2025-10-08T20:00:00")
    assert schedule.settlement_time == time(9)
    # A holiday's round settles at the settlement time of the next working day.
    assert schedule.settlement_instant((date(2025, 10, 3), 2), CAL) == at("2025-10-09T09:00:00")


@pytest.mark.parametrize("closes", [["09:00", "12:00"], ["12:00", "09:00", "16:00"], []])
def test_bad_schedules(closes: list[str]) -> None:
    with pytest.raises(UsageError):
        RoundSchedule.parse(closes)
