"""The EMV / PBOC data dictionary as data: tag -> name, source, format and length.

Sources: EMV 4.3 Book 3 Annex A (the EMV data elements), JR/T 0025.5/.12/.13 (PBOC 3.0
debit/credit, qPBOC and e-cash tags), JR/T 0025.17 (SM algorithm indicator DF69) as gathered
in docs/standards/card-terminal.md §1.2, 1.5, 1.6 and 1.9. Lengths are in bytes; ``min_len``/
``max_len`` give the range EMV allows (``n12`` is 6 bytes, a template is 0..255).

Formats (EMV Book 3 4.3): ``b`` binary, ``n`` BCD numeric right-justified with leading
zeros, ``cn`` compressed numeric left-justified padded with ``F``, ``a`` alphabetic,
``an`` alphanumeric, ``ans`` alphanumeric and special characters.

>>> lookup(0x9F02).name
'Amount, Authorised (Numeric)'
>>> name_of("9F79")
'Electronic Cash Balance'
>>> lookup(0x70).constructed
True
>>> name_of(0x9F99)
'Unknown tag'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "FORMATS",
    "SENSITIVE_TAGS",
    "SOURCES",
    "TAGS",
    "MaskKind",
    "TagFormat",
    "TagInfo",
    "TagSource",
    "lookup",
    "name_of",
    "tag_hex",
    "tag_size",
]

TagSource = Literal["card", "terminal", "issuer"]
TagFormat = Literal["b", "n", "cn", "an", "ans", "a"]
MaskKind = Literal["pan", "track2", "track2_if_separator", "secret"]

SOURCES: Final = frozenset({"card", "terminal", "issuer"})
FORMATS: Final = frozenset({"b", "n", "cn", "an", "ans", "a"})


@dataclass(frozen=True)
class TagInfo:
    """One entry of the data dictionary."""

    tag: int
    name: str
    source: TagSource
    fmt: TagFormat
    min_len: int
    max_len: int
    constructed: bool = False

    @property
    def tag_hex(self) -> str:
        """The tag as upper-case hex, e.g. ``'9F02'``."""
        return tag_hex(self.tag)


def tag_size(tag: int) -> int:
    """The number of bytes of ``tag`` (1 for ``0x5A``, 2 for ``0x9F02``)."""
    return max(1, (tag.bit_length() + 7) // 8)


def tag_hex(tag: int) -> str:
    """Upper-case hex of the tag bytes, e.g. ``'9F02'``."""
    return tag.to_bytes(tag_size(tag), "big").hex().upper()


def _t(
    tag: int, name: str, source: TagSource, fmt: TagFormat, size: int | tuple[int, int]
) -> TagInfo:
    """A primitive entry; ``size`` is a fixed length or a (min, max) range."""
    lo, hi = (size, size) if isinstance(size, int) else size
    return TagInfo(tag, name, source, fmt, lo, hi)


def _tpl(tag: int, name: str, source: TagSource = "card", hi: int = 255) -> TagInfo:
    return TagInfo(tag, name, source, "b", 0, hi, constructed=True)


_C: Final = "card"
_T: Final = "terminal"
_I: Final = "issuer"

TAGS: Final[tuple[TagInfo, ...]] = (
    # ---- EMV Book 3 Annex A, one-byte tags
    _t(0x42, "Issuer Identification Number (IIN)", _C, "n", 3),
    _t(0x4F, "Application Identifier (AID) - card", _C, "b", (5, 16)),
    _t(0x50, "Application Label", _C, "ans", (1, 16)),
    _t(0x56, "Track 1 Data", _C, "ans", (0, 76)),
    _t(0x57, "Track 2 Equivalent Data", _C, "b", (0, 19)),
    _t(0x5A, "Application Primary Account Number (PAN)", _C, "cn", (1, 10)),
    _tpl(0x61, "Application Template", hi=252),
    _tpl(0x6F, "File Control Information (FCI) Template", hi=252),
    _tpl(0x70, "READ RECORD Response Message Template", hi=253),
    _tpl(0x71, "Issuer Script Template 1", _I),
    _tpl(0x72, "Issuer Script Template 2", _I),
    _tpl(0x73, "Directory Discretionary Template", hi=252),
    _tpl(0x77, "Response Message Template Format 2", hi=253),
    _t(0x80, "Response Message Template Format 1", _C, "b", (0, 253)),
    _t(0x81, "Amount, Authorised (Binary)", _T, "b", 4),
    _t(0x82, "Application Interchange Profile (AIP)", _C, "b", 2),
    _t(0x83, "Command Template", _T, "b", (0, 255)),
    _t(0x84, "Dedicated File (DF) Name", _C, "b", (5, 16)),
    _t(0x86, "Issuer Script Command", _I, "b", (0, 261)),
    _t(0x87, "Application Priority Indicator", _C, "b", 1),
    _t(0x88, "Short File Identifier (SFI)", _C, "b", 1),
    _t(0x89, "Authorisation Code", _I, "an", 6),
    _t(0x8A, "Authorisation Response Code", _I, "an", 2),
    _t(0x8C, "Card Risk Management Data Object List 1 (CDOL1)", _C, "b", (0, 252)),
    _t(0x8D, "Card Risk Management Data Object List 2 (CDOL2)", _C, "b", (0, 252)),
    _t(0x8E, "Cardholder Verification Method (CVM) List", _C, "b", (10, 252)),
    _t(0x8F, "Certification Authority Public Key Index", _C, "b", 1),
    _t(0x90, "Issuer Public Key Certificate", _C, "b", (1, 248)),
    _t(0x91, "Issuer Authentication Data", _I, "b", (8, 16)),
    _t(0x92, "Issuer Public Key Remainder", _C, "b", (0, 255)),
    _t(0x93, "Signed Static Application Data", _C, "b", (1, 248)),
    _t(0x94, "Application File Locator (AFL)", _C, "b", (0, 252)),
    _t(0x95, "Terminal Verification Results (TVR)", _T, "b", 5),
    _t(0x97, "Transaction Certificate Data Object List (TDOL)", _C, "b", (0, 252)),
    _t(0x98, "Transaction Certificate (TC) Hash Value", _T, "b", (20, 32)),
    _t(0x99, "Transaction Personal Identification Number (PIN) Data", _T, "b", (0, 255)),
    _t(0x9A, "Transaction Date", _T, "n", 3),
    _t(0x9B, "Transaction Status Information (TSI)", _T, "b", 2),
    _t(0x9C, "Transaction Type", _T, "n", 1),
    _t(0x9D, "Directory Definition File (DDF) Name", _C, "b", (5, 16)),
    _tpl(0xA5, "File Control Information (FCI) Proprietary Template"),
    # ---- EMV Book 3 Annex A, two-byte tags 5Fxx
    _t(0x5F20, "Cardholder Name", _C, "ans", (2, 26)),
    _t(0x5F24, "Application Expiration Date", _C, "n", 3),
    _t(0x5F25, "Application Effective Date", _C, "n", 3),
    _t(0x5F28, "Issuer Country Code", _C, "n", 2),
    _t(0x5F2A, "Transaction Currency Code", _T, "n", 2),
    _t(0x5F2D, "Language Preference", _C, "an", (2, 8)),
    _t(0x5F30, "Service Code", _C, "n", 2),
    _t(0x5F34, "Application Primary Account Number (PAN) Sequence Number", _C, "n", 1),
    _t(0x5F36, "Transaction Currency Exponent", _T, "n", 1),
    _t(0x5F50, "Issuer URL", _C, "ans", (0, 255)),
    _t(0x5F53, "International Bank Account Number (IBAN)", _C, "b", (0, 34)),
    _t(0x5F54, "Bank Identifier Code (BIC)", _C, "b", (8, 11)),
    _t(0x5F55, "Issuer Country Code (alpha2 format)", _C, "a", 2),
    _t(0x5F56, "Issuer Country Code (alpha3 format)", _C, "a", 3),
    _t(0x5F57, "Account Type", _T, "n", 1),
    # ---- EMV Book 3 Annex A, two-byte tags 9Fxx
    _t(0x9F01, "Acquirer Identifier", _T, "n", 6),
    _t(0x9F02, "Amount, Authorised (Numeric)", _T, "n", 6),
    _t(0x9F03, "Amount, Other (Numeric)", _T, "n", 6),
    _t(0x9F04, "Amount, Other (Binary)", _T, "b", 4),
    _t(0x9F05, "Application Discretionary Data", _C, "b", (1, 32)),
    _t(0x9F06, "Application Identifier (AID) - terminal", _T, "b", (5, 16)),
    _t(0x9F07, "Application Usage Control", _C, "b", 2),
    _t(0x9F08, "Application Version Number - card", _C, "b", 2),
    _t(0x9F09, "Application Version Number - terminal", _T, "b", 2),
    _t(0x9F0B, "Cardholder Name Extended", _C, "ans", (27, 45)),
    _t(0x9F0D, "Issuer Action Code - Default", _C, "b", 5),
    _t(0x9F0E, "Issuer Action Code - Denial", _C, "b", 5),
    _t(0x9F0F, "Issuer Action Code - Online", _C, "b", 5),
    _t(0x9F10, "Issuer Application Data", _C, "b", (0, 32)),
    _t(0x9F11, "Issuer Code Table Index", _C, "n", 1),
    _t(0x9F12, "Application Preferred Name", _C, "ans", (1, 16)),
    _t(0x9F13, "Last Online Application Transaction Counter (ATC) Register", _C, "b", 2),
    _t(0x9F14, "Lower Consecutive Offline Limit", _C, "b", 1),
    _t(0x9F15, "Merchant Category Code", _T, "n", 2),
    _t(0x9F16, "Merchant Identifier", _T, "ans", 15),
    _t(0x9F17, "Personal Identification Number (PIN) Try Counter", _C, "b", 1),
    _t(0x9F18, "Issuer Script Identifier", _I, "b", 4),
    _t(0x9F1A, "Terminal Country Code", _T, "n", 2),
    _t(0x9F1B, "Terminal Floor Limit", _T, "b", 4),
    _t(0x9F1C, "Terminal Identification", _T, "an", 8),
    _t(0x9F1D, "Terminal Risk Management Data", _T, "b", (1, 8)),
    _t(0x9F1E, "Interface Device (IFD) Serial Number", _T, "an", 8),
    _t(0x9F1F, "Track 1 Discretionary Data", _C, "ans", (0, 255)),
    _t(0x9F20, "Track 2 Discretionary Data", _C, "cn", (0, 255)),
    _t(0x9F21, "Transaction Time", _T, "n", 3),
    _t(0x9F22, "Certification Authority Public Key Index - terminal", _T, "b", 1),
    _t(0x9F23, "Upper Consecutive Offline Limit", _C, "b", 1),
    _t(0x9F26, "Application Cryptogram", _C, "b", 8),
    _t(0x9F27, "Cryptogram Information Data", _C, "b", 1),
    _t(0x9F2D, "ICC PIN Encipherment Public Key Certificate", _C, "b", (1, 248)),
    _t(0x9F2E, "ICC PIN Encipherment Public Key Exponent", _C, "b", (1, 3)),
    _t(0x9F2F, "ICC PIN Encipherment Public Key Remainder", _C, "b", (0, 255)),
    _t(0x9F32, "Issuer Public Key Exponent", _C, "b", (1, 3)),
    _t(0x9F33, "Terminal Capabilities", _T, "b", 3),
    _t(0x9F34, "Cardholder Verification Method (CVM) Results", _T, "b", 3),
    _t(0x9F35, "Terminal Type", _T, "n", 1),
    _t(0x9F36, "Application Transaction Counter (ATC)", _C, "b", 2),
    _t(0x9F37, "Unpredictable Number", _T, "b", 4),
    _t(0x9F38, "Processing Options Data Object List (PDOL)", _C, "b", (0, 252)),
    _t(0x9F39, "Point-of-Service (POS) Entry Mode", _T, "n", 1),
    _t(0x9F3A, "Amount, Reference Currency", _T, "b", 4),
    _t(0x9F3B, "Application Reference Currency", _C, "n", (2, 8)),
    _t(0x9F3C, "Transaction Reference Currency Code", _T, "n", 2),
    _t(0x9F3D, "Transaction Reference Currency Exponent", _T, "n", 1),
    _t(0x9F40, "Additional Terminal Capabilities", _T, "b", 5),
    _t(0x9F41, "Transaction Sequence Counter", _T, "n", (2, 4)),
    _t(0x9F42, "Application Currency Code", _C, "n", 2),
    _t(0x9F43, "Application Reference Currency Exponent", _C, "n", (1, 4)),
    _t(0x9F44, "Application Currency Exponent", _C, "n", 1),
    _t(0x9F45, "Data Authentication Code", _C, "b", 2),
    _t(0x9F46, "ICC Public Key Certificate", _C, "b", (1, 248)),
    _t(0x9F47, "ICC Public Key Exponent", _C, "b", (1, 3)),
    _t(0x9F48, "ICC Public Key Remainder", _C, "b", (0, 255)),
    _t(0x9F49, "Dynamic Data Authentication Data Object List (DDOL)", _C, "b", (0, 252)),
    _t(0x9F4A, "Static Data Authentication Tag List", _C, "b", (0, 255)),
    _t(0x9F4B, "Signed Dynamic Application Data", _C, "b", (1, 248)),
    _t(0x9F4C, "ICC Dynamic Number", _C, "b", (2, 8)),
    _t(0x9F4D, "Log Entry", _C, "b", 2),
    _t(0x9F4E, "Merchant Name and Location", _T, "ans", (0, 255)),
    _t(0x9F4F, "Log Format", _C, "b", (0, 255)),
    # ---- PBOC 3.0 card data (JR/T 0025.5 / .12 / .13), docs/standards/card-terminal.md §1.5, 1.6,
    # 1.9
    _t(0x9F51, "Application Currency Code (PBOC)", _C, "n", 2),
    _t(0x9F52, "Application Default Action (ADA)", _C, "b", 2),
    _t(0x9F53, "Consecutive Transaction Limit (International-Currency)", _C, "b", 1),
    _t(0x9F54, "Cumulative Total Transaction Amount Limit", _C, "n", 6),
    _t(0x9F56, "Issuer Authentication Indicator", _C, "b", 1),
    _t(0x9F57, "Issuer Country Code (PBOC risk management)", _C, "n", 2),
    _t(0x9F58, "Lower Consecutive Offline Limit (PBOC)", _C, "b", 1),
    _t(0x9F59, "Upper Consecutive Offline Limit (PBOC)", _C, "b", 1),
    _t(0x9F5C, "Cumulative Total Transaction Amount Upper Limit", _C, "n", 6),
    _t(0x9F5D, "Available Offline Spending Amount", _C, "n", 6),
    _t(0x9F63, "Card Product Identification Information", _C, "b", 16),
    _t(0x9F66, "Terminal Transaction Qualifiers (TTQ)", _T, "b", 4),
    _t(0x9F68, "Card Additional Processes", _C, "b", 4),
    _t(0x9F69, "Card Authentication Related Data", _C, "b", (5, 16)),
    _t(0x9F6B, "Card CVM Limit", _C, "n", 6),
    _t(0x9F6C, "Card Transaction Qualifiers (CTQ)", _C, "b", 2),
    _t(0x9F6D, "Electronic Cash Reset Threshold", _C, "n", 6),
    _t(0x9F72, "Consecutive Transaction Limit (International-Country)", _C, "b", 1),
    _t(0x9F74, "Electronic Cash Issuer Authorisation Code", _C, "an", 6),
    _t(0x9F75, "Cumulative Total Transaction Amount Limit (Dual Currency)", _C, "n", 6),
    _t(0x9F76, "Secondary Application Currency Code", _C, "n", 2),
    _t(0x9F77, "Electronic Cash Balance Upper Limit", _C, "n", 6),
    _t(0x9F78, "Electronic Cash Single Transaction Limit", _C, "n", 6),
    _t(0x9F79, "Electronic Cash Balance", _C, "n", 6),
    _t(0x9F7A, "Electronic Cash Terminal Support Indicator", _T, "b", 1),
    _t(0x9F7B, "Electronic Cash Terminal Transaction Limit", _T, "n", 6),
    _tpl(0xBF0C, "File Control Information (FCI) Issuer Discretionary Data", hi=222),
    # ---- PBOC proprietary DFxx tags: e-cash logs, CAPP, second currency, SM algorithms
    _t(0xDF19, "Contactless Floor Limit (reader)", _T, "n", 6),
    _t(0xDF20, "Contactless Transaction Limit (reader)", _T, "n", 6),
    _t(0xDF21, "Contactless CVM Required Limit (reader)", _T, "n", 6),
    _t(0xDF4D, "Load Log Entry", _C, "b", 2),
    _t(0xDF4F, "Load Log Format", _C, "b", (0, 255)),
    _t(0xDF60, "CAPP Transaction Indicator", _T, "b", 1),
    _t(0xDF61, "Segmented Charge Application Identifier", _C, "b", 1),
    _t(0xDF62, "Segmented Charge Limit", _C, "n", 6),
    _t(0xDF63, "Segmented Charge Amount Deducted", _C, "n", 6),
    _t(0xDF69, "SM Algorithm Support Indicator", _T, "b", 1),
    _t(0xDF71, "Electronic Cash Second Currency Code", _C, "n", 2),
    _t(0xDF72, "Electronic Cash Second Currency CVM Limit", _C, "n", 6),
    _t(0xDF76, "Electronic Cash Second Currency Reset Threshold", _C, "n", 6),
    _t(0xDF77, "Electronic Cash Second Currency Balance Upper Limit", _C, "n", 6),
    _t(0xDF78, "Electronic Cash Second Currency Single Transaction Limit", _C, "n", 6),
    _t(0xDF79, "Electronic Cash Second Currency Balance", _C, "n", 6),
)

# Tags whose values are masked by the pretty printers unless asked to reveal them:
# "pan" keeps the first 6 and last 4 digits, "track2" masks the PAN part and hides the rest,
# "track2_if_separator" does so only for track-2 shaped values (9F6B is Track 2 Data for
# Mastercard but the card CVM limit for PBOC), "secret" hides everything.
SENSITIVE_TAGS: Final[dict[int, MaskKind]] = {
    0x5A: "pan",
    0x57: "track2",
    0x9F6B: "track2_if_separator",
    0x56: "secret",
    0x5F20: "secret",
    0x9F0B: "secret",
    0x9F1F: "secret",
    0x9F20: "secret",
    0x99: "secret",
}

_BY_TAG: Final[dict[int, TagInfo]] = {info.tag: info for info in TAGS}


def _tag_int(tag: int | str) -> int | None:
    if isinstance(tag, int):
        return tag
    try:
        return int(tag, 16) if tag else None
    except ValueError:
        return None


def lookup(tag: int | str) -> TagInfo | None:
    """The dictionary entry of ``tag`` (an int or hex text), or ``None`` when unknown.

    >>> lookup("5f2a").fmt
    'n'
    """
    number = _tag_int(tag)
    return None if number is None else _BY_TAG.get(number)


def name_of(tag: int | str) -> str:
    """The EMV/PBOC name of ``tag``, or ``'Unknown tag'``."""
    info = lookup(tag)
    return info.name if info else "Unknown tag"
