"""The TVR (95, five bytes) and TSI (9B, two bytes) as bit tables (EMV 4.3 Book 3 Annex C5, C6).

>>> tvr = Tvr()
>>> tvr.set(TvrBit.EXPIRED_APPLICATION); tvr.set(TvrBit.ONLINE_PIN_ENTERED)
>>> tvr.hex(), tvr.names()
('0040040000', ['expired application', 'online PIN entered'])
>>> Tsi.of(TsiBit.CVM_PERFORMED, TsiBit.TRM_PERFORMED).hex()
'4800'
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, ClassVar, Final

__all__ = ["TSI_TABLE", "TVR_TABLE", "Tsi", "TsiBit", "Tvr", "TvrBit"]


class TvrBit(Enum):
    """One TVR bit: (byte 1-5, bit mask)."""

    ODA_NOT_PERFORMED = (1, 0x80)
    SDA_FAILED = (1, 0x40)
    ICC_DATA_MISSING = (1, 0x20)
    ON_EXCEPTION_FILE = (1, 0x10)
    DDA_FAILED = (1, 0x08)
    CDA_FAILED = (1, 0x04)
    SDA_SELECTED = (1, 0x02)
    DIFFERENT_VERSIONS = (2, 0x80)
    EXPIRED_APPLICATION = (2, 0x40)
    NOT_YET_EFFECTIVE = (2, 0x20)
    SERVICE_NOT_ALLOWED = (2, 0x10)
    NEW_CARD = (2, 0x08)
    CVM_NOT_SUCCESSFUL = (3, 0x80)
    UNRECOGNISED_CVM = (3, 0x40)
    PIN_TRY_LIMIT_EXCEEDED = (3, 0x20)
    PIN_PAD_NOT_PRESENT = (3, 0x10)
    PIN_NOT_ENTERED = (3, 0x08)
    ONLINE_PIN_ENTERED = (3, 0x04)
    EXCEEDS_FLOOR_LIMIT = (4, 0x80)
    LCOL_EXCEEDED = (4, 0x40)
    UCOL_EXCEEDED = (4, 0x20)
    RANDOMLY_SELECTED = (4, 0x10)
    MERCHANT_FORCED_ONLINE = (4, 0x08)
    DEFAULT_TDOL_USED = (5, 0x80)
    ISSUER_AUTH_FAILED = (5, 0x40)
    SCRIPT_FAILED_BEFORE = (5, 0x20)
    SCRIPT_FAILED_AFTER = (5, 0x10)


TVR_TABLE: Final[dict[TvrBit, str]] = {
    TvrBit.ODA_NOT_PERFORMED: "offline data authentication was not performed",
    TvrBit.SDA_FAILED: "SDA failed",
    TvrBit.ICC_DATA_MISSING: "ICC data missing",
    TvrBit.ON_EXCEPTION_FILE: "card appears on terminal exception file",
    TvrBit.DDA_FAILED: "DDA failed",
    TvrBit.CDA_FAILED: "CDA failed",
    TvrBit.SDA_SELECTED: "SDA selected",
    TvrBit.DIFFERENT_VERSIONS: "ICC and terminal have different application versions",
    TvrBit.EXPIRED_APPLICATION: "expired application",
    TvrBit.NOT_YET_EFFECTIVE: "application not yet effective",
    TvrBit.SERVICE_NOT_ALLOWED: "requested service not allowed for card product",
    TvrBit.NEW_CARD: "new card",
    TvrBit.CVM_NOT_SUCCESSFUL: "cardholder verification was not successful",
    TvrBit.UNRECOGNISED_CVM: "unrecognised CVM",
    TvrBit.PIN_TRY_LIMIT_EXCEEDED: "PIN try limit exceeded",
    TvrBit.PIN_PAD_NOT_PRESENT: "PIN entry required and PIN pad not present or not working",
    TvrBit.PIN_NOT_ENTERED: "PIN entry required, PIN pad present, but PIN was not entered",
    TvrBit.ONLINE_PIN_ENTERED: "online PIN entered",
    TvrBit.EXCEEDS_FLOOR_LIMIT: "transaction exceeds floor limit",
    TvrBit.LCOL_EXCEEDED: "lower consecutive offline limit exceeded",
    TvrBit.UCOL_EXCEEDED: "upper consecutive offline limit exceeded",
    TvrBit.RANDOMLY_SELECTED: "transaction selected randomly for online processing",
    TvrBit.MERCHANT_FORCED_ONLINE: "merchant forced transaction online",
    TvrBit.DEFAULT_TDOL_USED: "default TDOL used",
    TvrBit.ISSUER_AUTH_FAILED: "issuer authentication failed",
    TvrBit.SCRIPT_FAILED_BEFORE: "script processing failed before final GENERATE AC",
    TvrBit.SCRIPT_FAILED_AFTER: "script processing failed after final GENERATE AC",
}


class TsiBit(Enum):
    """One TSI bit: (byte 1-2, bit mask)."""

    ODA_PERFORMED = (1, 0x80)
    CVM_PERFORMED = (1, 0x40)
    CRM_PERFORMED = (1, 0x20)
    ISSUER_AUTH_PERFORMED = (1, 0x10)
    TRM_PERFORMED = (1, 0x08)
    SCRIPT_PERFORMED = (1, 0x04)


TSI_TABLE: Final[dict[TsiBit, str]] = {
    TsiBit.ODA_PERFORMED: "offline data authentication was performed",
    TsiBit.CVM_PERFORMED: "cardholder verification was performed",
    TsiBit.CRM_PERFORMED: "card risk management was performed",
    TsiBit.ISSUER_AUTH_PERFORMED: "issuer authentication was performed",
    TsiBit.TRM_PERFORMED: "terminal risk management was performed",
    TsiBit.SCRIPT_PERFORMED: "script processing was performed",
}


class _Bits:
    size = 0
    names_of: ClassVar[Mapping[Any, str]] = {}

    def __init__(self, value: bytes | None = None) -> None:
        self.value = bytearray(value if value is not None else bytes(self.size))
        if len(self.value) != self.size:
            raise ValueError(f"{type(self).__name__} is {self.size} bytes")

    def set(self, bit: Enum) -> None:
        index, mask = bit.value
        self.value[index - 1] |= mask

    def has(self, bit: Enum) -> bool:
        index, mask = bit.value
        return bool(self.value[index - 1] & mask)

    def names(self) -> list[str]:
        return [name for bit, name in self.names_of.items() if self.has(bit)]

    def hex(self) -> str:
        return self.value.hex().upper()

    def __bytes__(self) -> bytes:
        return bytes(self.value)


class Tvr(_Bits):
    """The terminal verification results (95)."""

    size = 5
    names_of = TVR_TABLE

    @classmethod
    def of(cls, *bits: TvrBit) -> Tvr:
        found = cls()
        for bit in bits:
            found.set(bit)
        return found


class Tsi(_Bits):
    """The transaction status information (9B)."""

    size = 2
    names_of = TSI_TABLE

    @classmethod
    def of(cls, *bits: TsiBit) -> Tsi:
        found = cls()
        for bit in bits:
            found.set(bit)
        return found
