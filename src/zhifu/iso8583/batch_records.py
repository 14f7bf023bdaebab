"""Field 48 of a magnetic-stripe batch upload (0320, 60.3 ``201``): a count and the records.

The consolidated sources give field 48 of a ``201`` upload as ``n2 count + records`` without
the record layout (docs/standards/iso8583-cup.md §4.3 and its open questions), so the layout is
zhifu's, in digits only (field 48 is ``n``, at most 322 digits, so at most
:data:`MAX_RECORDS` records per message)::

    60.1 of the original (n2) ‖ its STAN (n6) ‖ amount in fen (n12) ‖ PAN length (n2) ‖ PAN

>>> text = build_records([UploadRecord("22", "000123", 1234, "6228000100001117")])
>>> text
'0122000123000000001234166228000100001117'
>>> parse_records(text)[0].stan
'000123'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from zhifu.codec.pan import mask_pan
from zhifu.core.errors import DecodeError, EncodeError

__all__ = ["MAX_RECORDS", "UploadRecord", "build_records", "parse_records"]

MAX_RECORDS: Final = 7
"""Records of a 19-digit PAN that fit the 322 digits of field 48 with the count."""


@dataclass(frozen=True, repr=False)
class UploadRecord:
    """One transaction of the batch as the terminal uploads it."""

    txn_type: str
    stan: str
    amount: int
    pan: str

    def __repr__(self) -> str:
        return f"UploadRecord({self.txn_type}, {self.stan}, {self.amount}, {mask_pan(self.pan)})"


def build_records(records: Sequence[UploadRecord]) -> str:
    """The digits of field 48 for up to :data:`MAX_RECORDS` records."""
    if not 1 <= len(records) <= MAX_RECORDS:
        raise EncodeError(f"1 to {MAX_RECORDS} records", field="48")
    parts = [f"{len(records):02d}"]
    for record in records:
        if len(record.txn_type) != 2 or len(record.stan) != 6 or not 12 <= len(record.pan) <= 19:
            raise EncodeError("a record is type n2, STAN n6 and a 12-19 digit PAN", field="48")
        parts.append(f"{record.txn_type}{record.stan}{record.amount:012d}")
        parts.append(f"{len(record.pan):02d}{record.pan}")
    text = "".join(parts)
    if not text.isdigit():
        raise EncodeError("field 48 is digits only", field="48")
    return text


def _take(text: str, at: int, size: int) -> str:
    piece = text[at : at + size]
    if len(piece) != size or not piece.isdigit():
        raise DecodeError(f"{size} digits expected", field="48", offset=at)
    return piece


def parse_records(text: str) -> list[UploadRecord]:
    """The records of a ``201`` upload's field 48 (DecodeError naming field 48 and the offset)."""
    count = int(_take(text, 0, 2))
    at, records = 2, []
    for _ in range(count):
        txn_type, stan = _take(text, at, 2), _take(text, at + 2, 6)
        amount = int(_take(text, at + 8, 12))
        size = int(_take(text, at + 20, 2))
        if not 12 <= size <= 19:
            raise DecodeError("a PAN is 12 to 19 digits", field="48", offset=at + 20)
        records.append(UploadRecord(txn_type, stan, amount, _take(text, at + 22, size)))
        at += 22 + size
    if at != len(text) or count == 0:
        raise DecodeError("the count does not match the records", field="48", offset=at)
    return records
