"""Field 39 as a table (docs/standards/iso8583-cup.md §5) and the reversal reasons (4.4)."""

from __future__ import annotations

import pytest

from zhifu.card.icc import ac as card_ac
from zhifu.iso8583.response_codes import (
    APPROVED_CODES,
    RESPONSE_CODES,
    REVERSAL_REASONS,
    Action,
    lookup,
)

# docs/standards/iso8583-cup.md §5, with the ranges A2/A4/A5/A6, Y1/Y3 and Z1/Z3 spelled out
DIGEST_CODES = (
    "00", "01", "03", "04", "05", "10", "11", "12", "13", "14", "15", "21", "22", "25",
    "30", "34", "38", "40", "41", "43", "45", "51", "54", "55", "57", "58", "59", "61",
    "62", "64", "65", "68", "75", "77", "90", "91", "92", "94", "96", "97", "98", "99",
    "A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "C1", "Y1", "Y3", "Z1", "Z3",
)  # fmt: skip


def test_every_digest_code_is_in_the_table() -> None:
    assert sorted(RESPONSE_CODES) == sorted(DIGEST_CODES)


@pytest.mark.parametrize("code", sorted(RESPONSE_CODES))
def test_row_is_complete(code: str) -> None:
    row = RESPONSE_CODES[code]
    assert row.code == code and len(code) == 2 and code.isalnum()
    assert code.isdigit() or code.isupper()
    assert row.meaning_cn and row.meaning_en
    assert isinstance(row.action, Action)
    if row.action is not Action.NOT_ONLINE and code not in ("A1", "A3", "C1"):
        assert row.display, code  # SD gives a display text for every POS code


def test_success_set() -> None:
    """Only 00 is plain success; 10 partial; 11, A2, A4, A5, A6 'defective success'."""
    assert {"00", "10", "11", "A2", "A4", "A5", "A6"} == APPROVED_CODES
    assert lookup("10").action is Action.APPROVE_PARTIAL
    assert lookup("A4").action is Action.APPROVE_WITH_WARNING


@pytest.mark.parametrize(
    ("code", "action"),
    [
        ("55", Action.REENTER_PIN), ("A0", Action.SIGN_ON), ("99", Action.SIGN_ON),
        ("77", Action.SIGN_ON), ("90", Action.RETRY_LATER), ("91", Action.RETRY_LATER),
        ("92", Action.RETRY_LATER), ("94", Action.NEW_STAN), ("51", Action.DECLINE),
        ("97", Action.DECLINE), ("30", Action.DECLINE), ("01", Action.CALL_ISSUER),
    ],
)  # fmt: skip
def test_terminal_actions(code: str, action: Action) -> None:
    assert lookup(code).action is action


def test_display_texts_from_sd() -> None:
    assert lookup("00").display == "交易成功"
    assert lookup("97").display == "终端未登记"
    assert lookup("A0").display == "MAC校验错,请重新签到"


def test_unknown_code() -> None:
    row = lookup("XX")
    assert row.code == "XX" and row.action is Action.DECLINE and not row.approved


def test_reversal_reasons() -> None:
    assert set(REVERSAL_REASONS) == {"98", "96", "A0", "06"}


def test_the_card_reads_the_authorisation_response_code_as_the_table_does() -> None:
    """The emulated card (which sits below iso8583) names its ARCs; they mean what 39 says."""
    assert {arc.decode() for arc in card_ac.ARC_APPROVED} <= APPROVED_CODES
    assert all(lookup(arc.decode()).approved for arc in card_ac.ARC_APPROVED)
    approve, decline = card_ac.ARC_UNABLE_APPROVE.decode(), card_ac.ARC_UNABLE_DECLINE.decode()
    assert "offline approved" in lookup(approve).meaning_en
    assert "offline declined" in lookup(decline).meaning_en
