"""The issuer's decisions and the field 39 code of each: one table.

Codes and meanings are those of docs/standards/iso8583-cup.md §5 (Q/CUP 006.6 annex A.2.1);
the test of this table checks every code against :mod:`zhifu.iso8583.response_codes`.

>>> FIELD_39[Decision.INSUFFICIENT_FUNDS], FIELD_39[Decision.PIN_TRIES_EXCEEDED]
('51', '75')
>>> decision_of("55")
<Decision.WRONG_PIN: 'incorrect PIN'>
"""

from __future__ import annotations

from typing import Final

from zhifu.issuer.link import Decision

__all__ = ["FIELD_39", "decision_of"]

FIELD_39: Final[dict[Decision, str]] = {
    Decision.APPROVED: "00",
    Decision.INVALID_TRANSACTION: "12",
    Decision.INVALID_AMOUNT: "13",
    Decision.INVALID_CARD: "14",
    Decision.ORIGINAL_NOT_FOUND: "25",
    Decision.CRYPTOGRAM_FAILED: "34",
    Decision.LOST_CARD: "41",
    Decision.STOLEN_CARD: "43",
    Decision.INSUFFICIENT_FUNDS: "51",
    Decision.EXPIRED_CARD: "54",
    Decision.CVN_FAILED: "59",
    Decision.WRONG_PIN: "55",
    Decision.NOT_PERMITTED_CARDHOLDER: "57",
    Decision.OVER_LIMIT: "61",
    Decision.RESTRICTED_CARD: "62",
    Decision.AMOUNT_MISMATCH: "64",
    Decision.PIN_TRIES_EXCEEDED: "75",
    Decision.DUPLICATE: "94",
    Decision.SYSTEM_ERROR: "96",
    Decision.SECURITY_FAILED: "A7",
}
"""Decision -> field 39."""

_BY_CODE: Final = {code: decision for decision, code in FIELD_39.items()}


def decision_of(code: str) -> Decision:
    """The decision a field 39 code stands for (a code of another host: system error)."""
    return _BY_CODE.get(code, Decision.SYSTEM_ERROR)
