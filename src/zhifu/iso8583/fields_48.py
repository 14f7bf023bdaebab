"""Field 48 (附加数据-私有): settlement totals, batch-upload counts and tips.

docs/standards/iso8583-cup.md §4.3. The settlement request and response carry 62 digits: for
domestic (内卡)
cards, then for foreign (外卡) cards, each half is debit total amount n12 + debit count n3 +
credit total amount n12 + credit count n3 + result n1. Debits are sales and completions; credits
are voids, refunds and completion voids. In the 0510 the result digit says whether the host's
totals agree: ``1`` balanced, ``2`` unbalanced, ``3`` error (meanings of 2/3 from memory).

>>> totals = Settlement(Totals(12345, 3, 100, 1), Totals())
>>> digits = build_settlement(totals)
>>> digits
'00000001234500300000000010000100000000000000000000000000000000'
>>> parse_settlement(digits) == totals
True
>>> build_batch_end_count(12), build_tip_amount(500)
('0012', '000000000500')
"""

from __future__ import annotations

import dataclasses
from typing import Final

from zhifu.core.errors import DecodeError, EncodeError

__all__ = [
    "RECONCILIATION_RESULTS",
    "SETTLEMENT_DIGITS",
    "Settlement",
    "Totals",
    "build_batch_end_count",
    "build_settlement",
    "build_tip_amount",
    "parse_batch_end_count",
    "parse_settlement",
]

SETTLEMENT_DIGITS: Final = 62
_HALF: Final = 31

RECONCILIATION_RESULTS: Final[dict[str, str]] = {
    "0": "not reconciled (request)",
    "1": "balanced (对账平)",
    "2": "unbalanced (对账不平)",
    "3": "error",
}
"""The result digit of each half in the 0510."""


@dataclasses.dataclass(frozen=True)
class Totals:
    """One half of field 48: amounts in fen, counts, reconciliation result digit."""

    debit_amount: int = 0
    debit_count: int = 0
    credit_amount: int = 0
    credit_count: int = 0
    result: str = "0"


@dataclasses.dataclass(frozen=True)
class Settlement:
    """Field 48 of 0500/0510: domestic and foreign card totals."""

    domestic: Totals
    foreign: Totals


def _parse_half(digits: str) -> Totals:
    return Totals(
        debit_amount=int(digits[0:12]),
        debit_count=int(digits[12:15]),
        credit_amount=int(digits[15:27]),
        credit_count=int(digits[27:30]),
        result=digits[30],
    )


def parse_settlement(value: str) -> Settlement:
    """Split the 62 digits of a settlement field 48."""
    if len(value) != SETTLEMENT_DIGITS or not (value.isascii() and value.isdigit()):
        raise DecodeError(
            f"settlement totals are {SETTLEMENT_DIGITS} digits, not {len(value)}", field="48"
        )
    return Settlement(_parse_half(value[:_HALF]), _parse_half(value[_HALF:]))


def _number(value: int, digits: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**digits:
        raise EncodeError(f"{what} must be an integer of at most {digits} digits", field="48")
    return f"{value:0{digits}d}"


def _build_half(totals: Totals) -> str:
    if len(totals.result) != 1 or not totals.result.isdigit():
        raise EncodeError("the result is one digit", field="48")
    return (
        _number(totals.debit_amount, 12, "the debit amount")
        + _number(totals.debit_count, 3, "the debit count")
        + _number(totals.credit_amount, 12, "the credit amount")
        + _number(totals.credit_count, 3, "the credit count")
        + totals.result
    )


def build_settlement(settlement: Settlement) -> str:
    """The 62 digits of a settlement field 48."""
    return _build_half(settlement.domestic) + _build_half(settlement.foreign)


def build_batch_end_count(records: int) -> str:
    """Field 48 of a batch-upload end (0320, 60.3 202/207): the records uploaded, n4."""
    return _number(records, 4, "the record count")


def parse_batch_end_count(value: str) -> int:
    """The record count of a batch-upload end."""
    if len(value) != 4 or not (value.isascii() and value.isdigit()):
        raise DecodeError("a batch-upload end count is 4 digits", field="48")
    return int(value)


def build_tip_amount(amount_minor: int) -> str:
    """Field 48 of a tip adjustment (60.1 = 34): the tip in fen, n12."""
    return _number(amount_minor, 12, "the tip amount")
