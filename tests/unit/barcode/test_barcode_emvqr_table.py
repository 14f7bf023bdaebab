"""The EMVCo MPM id table (emvqr_ids) and the deviation table checked as data."""

from __future__ import annotations

import pytest

from zhifu.barcode.codes.emvqr.ids import (
    MERCHANT_ACCOUNT_IDS,
    TABLES,
    Fmt,
    Presence,
    mandatory_ids,
    spec_for,
)
from zhifu.barcode.codes.emvqr.model import DEVIATIONS, DeviationCode, Severity
from zhifu.barcode.registry import MPM_PRIMITIVE_IDS

ALL_IDS = [f"{i:02d}" for i in range(100)]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_table_covers_00_to_99_exactly_once(name: str) -> None:
    covered = [i for spec in TABLES[name] for i in spec.ids()]
    assert covered == ALL_IDS  # in order, no gap, no overlap


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rows_are_well_formed(name: str) -> None:
    for spec in TABLES[name]:
        assert len(spec.first) == len(spec.last) == 2 and spec.first <= spec.last
        assert 1 <= spec.min_len <= spec.max_len <= 99
        assert spec.template is None or spec.template in TABLES
        assert spec.template is None or spec.fmt is Fmt.S
        assert spec.name


def test_root_rows_match_table_3_6() -> None:
    expected = {
        "00": (Fmt.N, 2, 2, Presence.MANDATORY),
        "01": (Fmt.N, 2, 2, Presence.OPTIONAL),
        "52": (Fmt.N, 4, 4, Presence.MANDATORY),
        "53": (Fmt.N, 3, 3, Presence.MANDATORY),
        "54": (Fmt.ANS, 1, 13, Presence.CONDITIONAL),
        "57": (Fmt.ANS, 1, 5, Presence.CONDITIONAL),
        "58": (Fmt.ANS, 2, 2, Presence.MANDATORY),
        "59": (Fmt.ANS, 1, 25, Presence.MANDATORY),
        "60": (Fmt.ANS, 1, 15, Presence.MANDATORY),
        "61": (Fmt.ANS, 1, 10, Presence.OPTIONAL),
        "63": (Fmt.ANS, 4, 4, Presence.MANDATORY),
    }
    for data_id, (fmt, low, high, presence) in expected.items():
        spec = spec_for("root", data_id)
        assert (spec.fmt, spec.min_len, spec.max_len, spec.presence) == (fmt, low, high, presence)
    assert mandatory_ids("root") == ("00", "52", "53", "58", "59", "60", "63")


def test_primitive_and_template_ranges() -> None:
    # docs/standards/barcode.md §7 mode 5: 02-25 primitive; 26-51, 62, 64, 80-99 templates
    for i in range(2, 26):
        assert spec_for("root", f"{i:02d}").template is None
    for i in (*range(26, 52), *range(80, 100)):
        assert spec_for("root", f"{i:02d}").template == "merchant_account"
    assert spec_for("root", "62").template == "additional_data"
    assert spec_for("root", "64").template == "language"
    assert {spec_for("additional_data", f"{i}").template for i in range(50, 100)} == {
        "payment_system"
    }
    assert {f"{i:02d}" for i in range(2, 52)} == MERCHANT_ACCOUNT_IDS
    assert set(MPM_PRIMITIVE_IDS) == {f"{i:02d}" for i in range(2, 26)}


def test_template_tables() -> None:
    assert mandatory_ids("merchant_account") == ("00",)
    assert spec_for("merchant_account", "00").max_len == 32
    assert mandatory_ids("language") == ("00", "01")
    assert spec_for("language", "01").fmt is Fmt.S  # Chinese names go here
    assert spec_for("additional_data", "00").rfu  # not allocated
    assert all(spec_for("additional_data", f"{i:02d}").max_len == 25 for i in range(1, 9))
    assert spec_for("additional_data", "09").max_len == 3


def test_every_deviation_code_has_a_row() -> None:
    assert set(DEVIATIONS) == set(DeviationCode)
    for code, (severity, text) in DEVIATIONS.items():
        assert code.value == code.name and text and severity in Severity
    warnings = {c for c in DeviationCode if c.severity is Severity.WARNING}
    assert warnings == {
        DeviationCode.RFU_ID,
        DeviationCode.AMOUNT_DECIMALS,
        DeviationCode.CRC_LOWER_CASE,
    }
