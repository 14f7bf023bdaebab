"""The issuer's decision table: every decision has one field 39 code, each code is a row of
the response-code table, and the acquirer has an outcome for each (none falls back to 96)."""

from __future__ import annotations

from zhifu.acquirer.context import Result
from zhifu.iso8583.response_codes import RESPONSE_CODES
from zhifu.issuer.decisions import FIELD_39, decision_of
from zhifu.issuer.link import Decision


def test_every_decision_has_its_own_code_in_the_response_table() -> None:
    assert set(FIELD_39) == set(Decision)
    assert len(set(FIELD_39.values())) == len(FIELD_39)
    assert all(code in RESPONSE_CODES for code in FIELD_39.values())
    assert all(decision_of(code) is decision for decision, code in FIELD_39.items())


def test_the_acquirer_passes_every_issuer_code_through() -> None:
    for decision, code in FIELD_39.items():
        if decision is Decision.SYSTEM_ERROR:
            continue
        assert Result.of(code).de39 == code, decision
