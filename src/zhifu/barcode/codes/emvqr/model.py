"""The pieces of an EMVCo merchant-presented payload: data objects, deviations, the CRC.

Offsets and lengths are in characters (Unicode code points) of the payload text, as EMVCo
counts them (MPM v1.1 §4.4.1.1); only the CRC works on the UTF-8 bytes.

>>> crc16_ccitt_false(b"123456789")         # the CRC-16/CCITT-FALSE check value
10673
>>> f"{crc16_ccitt_false(b'123456789'):04X}"
'29B1'
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (ISO/IEC 13239: poly 0x1021, init 0xFFFF, no reflection, no XOR)."""
    return binascii.crc_hqx(data, 0xFFFF)


def crc_text(data: bytes) -> str:
    """The CRC as EMVCo writes it: four upper-case hex digits, zero-padded."""
    return f"{crc16_ccitt_false(data):04X}"


class Severity(StrEnum):
    ERROR = "error"  # the payload breaks a rule: not valid
    WARNING = "warning"  # tolerated form; valid, but reported


class DeviationCode(StrEnum):
    """Every way a payload can depart from EMVCo MPM v1.1 that the lenient parser reports.

    Each code's row in :data:`DEVIATIONS` gives its severity and what it means;
    docs/standards/barcode.md §7 numbers the real-world failure modes some of them stand for.
    """

    NOT_UTF8 = "NOT_UTF8"
    PAYLOAD_EMPTY = "PAYLOAD_EMPTY"
    PAYLOAD_TOO_LONG = "PAYLOAD_TOO_LONG"
    BAD_HEADER = "BAD_HEADER"
    ZERO_LENGTH = "ZERO_LENGTH"
    VALUE_OVERRUN = "VALUE_OVERRUN"
    LENGTH_IN_UTF8_BYTES = "LENGTH_IN_UTF8_BYTES"
    LENGTH_IN_UTF16_UNITS = "LENGTH_IN_UTF16_UNITS"
    DUPLICATE_ID = "DUPLICATE_ID"
    PFI_NOT_FIRST = "PFI_NOT_FIRST"
    PFI_VALUE = "PFI_VALUE"
    POI_VALUE = "POI_VALUE"
    MISSING_MANDATORY = "MISSING_MANDATORY"
    MISSING_MERCHANT_ACCOUNT = "MISSING_MERCHANT_ACCOUNT"
    FORMAT_N = "FORMAT_N"
    FORMAT_ANS = "FORMAT_ANS"
    LENGTH_RANGE = "LENGTH_RANGE"
    RFU_ID = "RFU_ID"
    AMOUNT_FORMAT = "AMOUNT_FORMAT"
    AMOUNT_ZERO = "AMOUNT_ZERO"
    AMOUNT_DECIMALS = "AMOUNT_DECIMALS"
    TIP_RULES = "TIP_RULES"
    TEMPLATE_EMPTY = "TEMPLATE_EMPTY"
    GUI_MISSING = "GUI_MISSING"
    SUB_ID_00_IN_62 = "SUB_ID_00_IN_62"
    CONSUMER_DATA_REQUEST = "CONSUMER_DATA_REQUEST"
    LANGUAGE_CODE = "LANGUAGE_CODE"
    CRC_MISSING = "CRC_MISSING"
    CRC_NOT_LAST = "CRC_NOT_LAST"
    CRC_NOT_HEX = "CRC_NOT_HEX"
    CRC_NOT_ZERO_PADDED = "CRC_NOT_ZERO_PADDED"
    CRC_LOWER_CASE = "CRC_LOWER_CASE"
    CRC_MISMATCH = "CRC_MISMATCH"
    CRC_XMODEM = "CRC_XMODEM"
    CRC_GBK = "CRC_GBK"
    CRC_UTF16_LOW_BYTE = "CRC_UTF16_LOW_BYTE"
    CRC_WITHOUT_HEADER = "CRC_WITHOUT_HEADER"

    @property
    def severity(self) -> Severity:
        return DEVIATIONS[self][0]

    @property
    def description(self) -> str:
        return DEVIATIONS[self][1]


_E, _W = Severity.ERROR, Severity.WARNING
D = DeviationCode
DEVIATIONS: Final[dict[DeviationCode, tuple[Severity, str]]] = {
    D.NOT_UTF8: (_E, "not UTF-8: bad bytes (replaced) or a lone surrogate in the text"),
    D.PAYLOAD_EMPTY: (_E, "nothing to decode"),
    D.PAYLOAD_TOO_LONG: (_E, "over 512 characters (MPM §4.1)"),
    D.BAD_HEADER: (_E, "an id or length is not two digits; the rest of the level is kept raw"),
    D.ZERO_LENGTH: (_E, "length 00 (lengths run 01-99)"),
    D.VALUE_OVERRUN: (_E, "the length runs past the end of its level; the value is cut"),
    D.LENGTH_IN_UTF8_BYTES: (_E, "the length counts UTF-8 bytes, not characters (§7 mode 4)"),
    D.LENGTH_IN_UTF16_UNITS: (_E, "the length counts UTF-16 code units (§7 mode 4)"),
    D.DUPLICATE_ID: (_E, "the same id twice in one level (§4.3.1.2)"),
    D.PFI_NOT_FIRST: (_E, "00 (Payload Format Indicator) is not the first object"),
    D.PFI_VALUE: (_E, "Payload Format Indicator is not 01 (§7 mode 6, M23)"),
    D.POI_VALUE: (_E, "Point of Initiation Method is neither 11 nor 12"),
    D.MISSING_MANDATORY: (_E, "a mandatory object is absent (§7 mode 6, PromptPay M6-M10)"),
    D.MISSING_MERCHANT_ACCOUNT: (_E, "no Merchant Account Information (02-51)"),
    D.FORMAT_N: (_E, "a numeric (N) value has a non-digit"),
    D.FORMAT_ANS: (_E, "an ans value has a character outside the EMV common set (§7 mode 6)"),
    D.LENGTH_RANGE: (_E, "a value is longer or shorter than its id allows (§7 mode 6)"),
    D.RFU_ID: (_W, "an id reserved for future use by EMVCo"),
    D.AMOUNT_FORMAT: (_E, "an amount is not digits with at most one '.' (§4.7.4)"),
    D.AMOUNT_ZERO: (_E, "the transaction amount is zero"),
    D.AMOUNT_DECIMALS: (_W, "more decimals than the currency's ISO 4217 exponent"),
    D.TIP_RULES: (_E, "55/56/57 break the tip or convenience fee rules"),
    D.TEMPLATE_EMPTY: (_E, "a template holds no data object"),
    D.GUI_MISSING: (_E, "a template that needs 00 (Globally Unique Identifier) lacks it"),
    D.SUB_ID_00_IN_62: (_E, "sub-id 00 in 62 is not allocated (§7 mode 6, M20)"),
    D.CONSUMER_DATA_REQUEST: (_E, "62/09 is not a set of A, M, E, each at most once"),
    D.LANGUAGE_CODE: (_E, "64/00 is not two ISO 639 letters"),
    D.CRC_MISSING: (_E, "no CRC (63); the payload is unprotected (§7 mode 7)"),
    D.CRC_NOT_LAST: (_E, "63 is not the last object (§4.6)"),
    D.CRC_NOT_HEX: (_E, "the CRC value is not four hex digits"),
    D.CRC_NOT_ZERO_PADDED: (_E, "the CRC lacks its leading zeros (§7 mode 2)"),
    D.CRC_LOWER_CASE: (_W, "the CRC is lower-case hex; compared case-insensitively (M22)"),
    D.CRC_MISMATCH: (_E, "the CRC does not match the payload (§7 mode 7)"),
    D.CRC_XMODEM: (_E, "the CRC was computed with init 0 (XMODEM), not 0xFFFF (§7 mode 3)"),
    D.CRC_GBK: (_E, "the CRC was computed over GBK bytes, not UTF-8 (§7 mode 3)"),
    D.CRC_UTF16_LOW_BYTE: (_E, "the CRC was computed over UTF-16 low bytes (§7 mode 3)"),
    D.CRC_WITHOUT_HEADER: (_E, "the CRC leaves out its own '6304' (§4.7.3)"),
}


@dataclass(frozen=True, slots=True)
class Deviation:
    """One departure from the specification, where it is (character offset) and how bad."""

    code: DeviationCode
    message: str
    offset: int | None = None
    path: str | None = None

    @property
    def severity(self) -> Severity:
        return self.code.severity

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "message": self.message,
            "offset": self.offset,
            "path": self.path,
        }

    def __str__(self) -> str:
        where = f" at {self.offset}" if self.offset is not None else ""
        return f"{self.code.value}{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class DataObject:
    """One ID-length-value object; ``children`` is set for a template that parsed."""

    id: str
    length: int
    value: str
    offset: int
    path: str
    name: str
    children: tuple[DataObject, ...] | None = None

    def child(self, data_id: str) -> DataObject | None:
        return next((c for c in self.children or () if c.id == data_id), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "length": self.length,
            "offset": self.offset,
            "value": self.value,
        }
        if self.children is not None:
            out["children"] = [c.to_dict() for c in self.children]
        return out
