"""The EMVCo merchant-presented QR data objects as data (EMVCo MPM v1.1 Tables 3.6-3.8, 4.1;
docs/standards/barcode.md §4.1): id range, name, format, value length in characters, presence, and
the sub-table of a template.

Every table covers ids 00-99 exactly once (checked by the tests); reserved ranges are rows
with ``rfu=True``.

>>> spec_for("root", "15").name, spec_for("root", "15").template is None
('Merchant Account Information (UnionPay)', True)
>>> spec_for("root", "62").template, spec_for("additional_data", "05").max_len
('additional_data', 25)
>>> spec_for("root", "70").rfu
True
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Fmt(StrEnum):
    """EMVCo value formats: digits, the EMV common character set, any Unicode (UTF-8)."""

    N = "N"
    ANS = "ans"
    S = "S"


class Presence(StrEnum):
    MANDATORY = "M"
    CONDITIONAL = "C"
    OPTIONAL = "O"


@dataclass(frozen=True, slots=True)
class IdSpec:
    """Ids ``first``..``last`` (inclusive, two digits each) of one table."""

    first: str
    last: str
    name: str
    fmt: Fmt
    min_len: int
    max_len: int
    presence: Presence
    template: str | None = None
    rfu: bool = False

    def ids(self) -> list[str]:
        return [f"{i:02d}" for i in range(int(self.first), int(self.last) + 1)]


MAN, CON, OPT = Presence.MANDATORY, Presence.CONDITIONAL, Presence.OPTIONAL
N, ANS, S = Fmt.N, Fmt.ANS, Fmt.S
MAI: Final = "Merchant Account Information"

ROOT: Final[tuple[IdSpec, ...]] = (
    IdSpec("00", "00", "Payload Format Indicator", N, 2, 2, MAN),
    IdSpec("01", "01", "Point of Initiation Method", N, 2, 2, OPT),
    IdSpec("02", "03", f"{MAI} (Visa)", ANS, 1, 99, CON),
    IdSpec("04", "05", f"{MAI} (Mastercard)", ANS, 1, 99, CON),
    IdSpec("06", "08", f"{MAI} (EMVCo)", ANS, 1, 99, CON),
    IdSpec("09", "10", f"{MAI} (Discover)", ANS, 1, 99, CON),
    IdSpec("11", "12", f"{MAI} (Amex)", ANS, 1, 99, CON),
    IdSpec("13", "14", f"{MAI} (JCB)", ANS, 1, 99, CON),
    IdSpec("15", "16", f"{MAI} (UnionPay)", ANS, 1, 99, CON),
    IdSpec("17", "25", f"{MAI} (EMVCo)", ANS, 1, 99, CON),
    IdSpec("26", "51", f"{MAI} template", S, 1, 99, CON, "merchant_account"),
    IdSpec("52", "52", "Merchant Category Code", N, 4, 4, MAN),
    IdSpec("53", "53", "Transaction Currency", N, 3, 3, MAN),
    IdSpec("54", "54", "Transaction Amount", ANS, 1, 13, CON),
    IdSpec("55", "55", "Tip or Convenience Indicator", N, 2, 2, OPT),
    IdSpec("56", "56", "Value of Convenience Fee Fixed", ANS, 1, 13, CON),
    IdSpec("57", "57", "Value of Convenience Fee Percentage", ANS, 1, 5, CON),
    IdSpec("58", "58", "Country Code", ANS, 2, 2, MAN),
    IdSpec("59", "59", "Merchant Name", ANS, 1, 25, MAN),
    IdSpec("60", "60", "Merchant City", ANS, 1, 15, MAN),
    IdSpec("61", "61", "Postal Code", ANS, 1, 10, OPT),
    IdSpec("62", "62", "Additional Data Field Template", S, 1, 99, OPT, "additional_data"),
    IdSpec("63", "63", "CRC", ANS, 4, 4, MAN),
    IdSpec("64", "64", "Merchant Information - Language Template", S, 1, 99, OPT, "language"),
    IdSpec("65", "79", "RFU for EMVCo", S, 1, 99, OPT, rfu=True),
    IdSpec("80", "99", "Unreserved Template", S, 1, 99, OPT, "merchant_account"),
)

GUI: Final = "Globally Unique Identifier"
MERCHANT_ACCOUNT: Final[tuple[IdSpec, ...]] = (
    IdSpec("00", "00", GUI, ANS, 1, 32, MAN),
    IdSpec("01", "99", "Payment network specific", S, 1, 99, OPT),
)

ADDITIONAL_DATA: Final[tuple[IdSpec, ...]] = (
    IdSpec("00", "00", "(not allocated)", S, 1, 99, OPT, rfu=True),
    IdSpec("01", "01", "Bill Number", ANS, 1, 25, OPT),
    IdSpec("02", "02", "Mobile Number", ANS, 1, 25, OPT),
    IdSpec("03", "03", "Store Label", ANS, 1, 25, OPT),
    IdSpec("04", "04", "Loyalty Number", ANS, 1, 25, OPT),
    IdSpec("05", "05", "Reference Label", ANS, 1, 25, OPT),
    IdSpec("06", "06", "Customer Label", ANS, 1, 25, OPT),
    IdSpec("07", "07", "Terminal Label", ANS, 1, 25, OPT),
    IdSpec("08", "08", "Purpose of Transaction", ANS, 1, 25, OPT),
    IdSpec("09", "09", "Additional Consumer Data Request", ANS, 1, 3, OPT),
    IdSpec("10", "49", "RFU for EMVCo", S, 1, 99, OPT, rfu=True),
    IdSpec("50", "99", "Payment System specific template", S, 1, 99, OPT, "payment_system"),
)

PAYMENT_SYSTEM: Final[tuple[IdSpec, ...]] = (
    IdSpec("00", "00", GUI, ANS, 1, 32, MAN),
    IdSpec("01", "99", "Payment System specific", S, 1, 99, OPT),
)

LANGUAGE: Final[tuple[IdSpec, ...]] = (
    IdSpec("00", "00", "Language Preference", ANS, 2, 2, MAN),
    IdSpec("01", "01", "Merchant Name - Alternate Language", S, 1, 25, MAN),
    IdSpec("02", "02", "Merchant City - Alternate Language", S, 1, 15, OPT),
    IdSpec("03", "99", "RFU for EMVCo", S, 1, 99, OPT, rfu=True),
)

TABLES: Final[dict[str, tuple[IdSpec, ...]]] = {
    "root": ROOT,
    "merchant_account": MERCHANT_ACCOUNT,
    "additional_data": ADDITIONAL_DATA,
    "payment_system": PAYMENT_SYSTEM,
    "language": LANGUAGE,
}
_INDEX: Final[dict[str, dict[str, IdSpec]]] = {
    name: {i: spec for spec in table for i in spec.ids()} for name, table in TABLES.items()
}

MERCHANT_ACCOUNT_IDS: Final = frozenset(f"{i:02d}" for i in range(2, 52))
TEMPLATE_PRIMITIVE_IDS: Final = frozenset(f"{i:02d}" for i in range(2, 26))
AMOUNT_IDS: Final = frozenset({"54", "56"})
MAX_PAYLOAD_CHARS: Final = 512


def spec_for(table: str, data_id: str) -> IdSpec:
    """The row of ``table`` for a two-digit id (every id 00-99 has one)."""
    return _INDEX[table][data_id]


def mandatory_ids(table: str) -> tuple[str, ...]:
    """The ids a level of this table must contain."""
    return tuple(i for spec in TABLES[table] if spec.presence is MAN for i in spec.ids())
