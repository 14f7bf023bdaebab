"""The clearing home's calendar file (calendar.toml / calendar.json) and
``zhifu clearing calendar``.

Every 2027 date written here is TEST DATA, made up for the tests: not the State Council's 2027
schedule (chinesecalendar 1.11.0 knows 2004-2026 only).
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from zhifu.clearing.calendar.home import (
    CalendarGap,
    CalendarSource,
    calendar_gap,
    calendar_path,
    load_calendar,
)
from zhifu.cli.main import main
from zhifu.core.errors import UsageError

TEST_TOML = """\
# TEST DATA, made up for the tests: NOT the State Council's 2027 schedule
years = [2027]

[holidays]
"2027-01-01" = "TEST holiday"

[workdays]
"2027-01-09" = "TEST make-up workday"
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_load_and_coverage(tmp_path: Path) -> None:
    assert calendar_path(tmp_path) is None
    (tmp_path / "calendar.toml").write_text(TEST_TOML, encoding="utf-8")
    path = calendar_path(tmp_path)
    assert path == tmp_path / "calendar.toml"
    calendar = load_calendar(path)
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 1, 9))
    assert calendar.next_working_day_on_or_after(date(2027, 1, 1)) == date(2027, 1, 4)
    assert calendar_gap(calendar, date(2026, 11, 25)) is None
    assert calendar_gap(calendar, date(2027, 12, 1), 60) == CalendarGap(date(2028, 1, 1), 2028)
    # a BEPS date in a known year whose settlement date runs into an unknown one
    friday = load_calendar(None)
    assert calendar_gap(friday, date(2026, 12, 31), 1) is None
    (tmp_path / "calendar.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="keep one calendar file"):
        calendar_path(tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("calendar.toml", "years = [2027", "not a calendar file"),
        ("calendar.json", '{"years": [2027], "holidays": {"2027-02-30": "x"}}', "not an ISO date"),
        ("calendar.json", '{"year": [2027]}', "unknown calendar keys"),
        ("calendar.toml", '[holidays]\n"2027-01-01" = "TEST"\n', "add 2027 to years"),
        ("calendar.json", b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_malformed_files_are_refused_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes, problem: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=problem) as caught:
        CalendarSource(tmp_path)
    assert str(path) in str(caught.value)


def test_source_reloads_on_change(tmp_path: Path) -> None:
    source = CalendarSource(tmp_path)
    assert source.poll() is None and source.path is None
    assert source.target == str(tmp_path / "calendar.toml")
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"years": [2027]}), encoding="utf-8")  # TEST data
    found = source.poll()
    assert found is not None and 2027 in found.years and source.path == path
    assert source.poll() is None  # unchanged
    path.write_text("not json", encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new version even on a coarse clock
    with pytest.raises(UsageError, match=r"calendar\.json"):
        source.poll()
    assert source.poll() is None and 2027 in source.calendar.years  # reported once, kept
    path.unlink()
    found = source.poll()
    assert found is not None and 2027 not in found.years and source.path is None


def test_cli_reports_years_and_coverage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(tmp_path), "--from", "2026-11-25"]
    status, out, err = run(["clearing", "calendar", *home, "--json"], capsys)
    data = json.loads(out)
    assert (status, err) == (1, "")  # 2027 is not covered: a cron job alerts
    assert data["covered"] is False and data["file"] is None
    assert data["gap"] == {"beps_date": "2027-01-01", "year": 2027}
    assert (data["package"]["first"], data["package"]["last"]) == (2004, 2026)
    status, out, _ = run(["clearing", "calendar", *home], capsys)
    assert status == 1
    assert "NOT covered from BEPS date 2027-01-01: no holiday data for 2027" in out
    assert str(tmp_path / "calendar.toml") in out and "docs/clearing.md#calendar" in out

    (tmp_path / "calendar.toml").write_text(TEST_TOML, encoding="utf-8")
    status, out, _ = run(["clearing", "calendar", *home, "--json"], capsys)
    data = json.loads(out)
    assert status == 0 and data["covered"] is True and data["gap"] is None
    assert data["file"] == {
        "path": str(tmp_path / "calendar.toml"),
        "years": [2027],
        "holidays": 1,
        "workdays": 1,
    }
    assert data["years"][-2:] == [2026, 2027]
    status, out, _ = run(["clearing", "calendar", *home, "--days", "410"], capsys)
    assert status == 1 and "no holiday data for 2028" in out
    assert "years known: 2004-2027\n" in out
    assert "calendar file " + str(tmp_path / "calendar.toml") + ": 2027 (1 holidays" in out


def test_cli_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("years = [2027", encoding="utf-8")
    status, out, err = run(["clearing", "calendar", "--file", str(bad)], capsys)
    assert (status, out) == (2, "")
    assert err.startswith("zhifu: error: --file: " + str(bad)) and len(err.splitlines()) == 1
    status, _, err = run(["clearing", "calendar", "--file", str(tmp_path / "none.toml")], capsys)
    assert (status, err) == (2, "zhifu: error: --file: no such file\n")
    status, _, err = run(["clearing", "calendar", "--from", "2027-13-01"], capsys)
    assert status == 2 and "--from: not a date" in err
    status, _, err = run(["clearing", "calendar", "--days", "0"], capsys)
    assert status == 2 and "--days: must be 1 to" in err


def test_documented_file_example_is_2026_as_the_package_has_it(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "clearing.md"
    section = doc.read_text(encoding="utf-8").split("\n## Calendar\n", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "calendar.toml"
    path.write_text(example, encoding="utf-8")
    documented, package = load_calendar(path), load_calendar(None)
    assert documented.data.years == {2026}
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert documented.is_working_day(day) == package.is_working_day(day), day
        day += timedelta(days=1)
