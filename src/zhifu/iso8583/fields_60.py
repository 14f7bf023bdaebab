"""Field 60 (自定义域): transaction type, batch, network management code and reading flags.

docs/standards/iso8583-cup.md §3.2. Sub-fields, in order: 60.1 transaction type n2, 60.2 batch
number n6, 60.3 network management code n3, 60.4 terminal reading capability n1, 60.5 IC condition
code n1, 60.6 partial-approval flag n1, 60.7 account type n3 (17 digits). Terminals stop after
the last sub-field they use; some acquirers append more digits (kept in ``extension``).

>>> f60 = parse_field_60("22000001000600")
>>> f60.txn_type, f60.batch, f60.network_code, f60.reading_capability, f60.ic_condition
('22', '000001', '000', '6', '0')
>>> f60.partial_flag, f60.account_type
('0', None)
>>> build_field_60(f60)
'22000001000600'
>>> build_field_60(Field60("00", "000001", "003"))
'00000001003'
>>> NETWORK_CODES["004"]
'sign-on: double-length keys + TDK'
"""

from __future__ import annotations

import dataclasses
from typing import Final

from zhifu.core.errors import DecodeError, EncodeError
from zhifu.iso8583.views import SubfieldView

__all__ = [
    "DOWNLOAD_CODES",
    "FIELD_60_WIDTHS",
    "IC_CONDITIONS",
    "NETWORK_CODES",
    "QUERY_CODES",
    "READING_CAPABILITIES",
    "SIGN_ON_CODES",
    "TDK_SIGN_ON_CODES",
    "TXN_TYPES",
    "Field60",
    "build_field_60",
    "describe_field_60",
    "parse_field_60",
]

FIELD_60_WIDTHS: Final = (
    ("txn_type", "60.1", "交易类型码", 2),
    ("batch", "60.2", "批次号", 6),
    ("network_code", "60.3", "网络管理信息码", 3),
    ("reading_capability", "60.4", "终端读取能力", 1),
    ("ic_condition", "60.5", "IC卡条件代码", 1),
    ("partial_flag", "60.6", "部分扣款/返回余额标志", 1),
    ("account_type", "60.7", "账户类型", 3),
)
"""(attribute, sub-field, Chinese name, digits) in wire order."""

TXN_TYPES: Final[dict[str, str]] = {
    "00": "management / settlement / script advice",
    "01": "balance inquiry",
    "03": "points query",
    "07": "e-signature upload",
    "10": "pre-authorisation",
    "11": "pre-authorisation void",
    "20": "pre-authorisation completion (online)",
    "21": "pre-authorisation completion void",
    "22": "sale",
    "23": "sale void",
    "24": "pre-authorisation completion advice (offline)",
    "25": "refund",
    "27": "e-cash refund",
    "30": "offline settlement",
    "32": "settlement adjustment",
    "34": "tip adjustment",
    "36": "IC offline sale / e-cash upload",
    "45": "e-cash load, designated account",
    "46": "e-cash load, cash",
    "47": "e-cash load, non-designated account",
    "48": "magnetic-stripe load (designated)",
    "49": "magnetic-stripe load (non-designated)",
    "51": "cash load void",
    "53": "reservation sale void",
    "54": "reservation sale",
}
"""60.1 交易类型码 (docs/standards/iso8583-cup.md §3.2: SD, KP, PX, PG)."""

NETWORK_CODES: Final[dict[str, str]] = {
    "000": "financial transaction",
    "001": "sign-on: single-DES keys",
    "002": "sign-off",
    "003": "sign-on: double-length keys",
    "004": "sign-on: double-length keys + TDK",
    "005": "sign-on: SM4 keys",
    "006": "sign-on: SM4 keys + TDK",
    "201": "settlement (0500) / magnetic-stripe batch upload (0320)",
    "202": "batch upload end, balanced",
    "203": "batch upload: IC online TC (balanced)",
    "204": "batch upload: IC offline / failed",
    "205": "batch upload: IC (unbalanced)",
    "207": "batch upload end, unbalanced",
    "301": "echo test",
    "360": "download: magnetic-stripe parameters",
    "362": "query: magnetic-stripe parameters",
    "370": "download: CA public key",
    "371": "download end: CA public keys",
    "372": "query: CA public keys",
    "373": "query: SM CA public keys",
    "380": "download: IC parameters (AID)",
    "381": "download end: IC parameters",
    "382": "query: IC parameters (AID)",
    "390": "download: blacklist",
    "391": "download end: blacklist",
    "394": "download: contactless parameters",
    "395": "download end: contactless parameters",
    "396": "download: BIN table",
    "397": "download end: BIN table",
    "398": "download: BIN table (second)",
    "399": "download end: BIN table (second)",
    "800": "e-signature upload",
    "951": "script result advice",
}
"""60.3 网络管理信息码 (docs/standards/iso8583-cup.md §3.2 and 4.2)."""

SIGN_ON_CODES: Final = frozenset({"001", "003", "004", "005", "006"})
"""60.3 values of a sign-on: field 62 of the 0810 carries working keys."""
TDK_SIGN_ON_CODES: Final = frozenset({"004", "006"})
"""Sign-ons that also deliver a track key (TDK)."""
QUERY_CODES: Final = frozenset({"362", "372", "373", "382"})
"""60.3 values of a parameter query: field 62 of the answer is a status and a list of records."""
DOWNLOAD_CODES: Final = frozenset({"360", "370", "380", "390", "394", "396", "398"})
"""60.3 values of a parameter download: field 62 of the answer is a status and one record."""

READING_CAPABILITIES: Final[dict[str, str]] = {
    "0": "unknown",
    "2": "magnetic stripe only (from memory, unconfirmed)",
    "5": "contact IC capable",
    "6": "contactless capable",
}
"""60.4 终端读取能力."""

IC_CONDITIONS: Final[dict[str, str]] = {
    "0": "normal / not applicable",
    "1": "fallback related",
    "2": "fallback (chip failed, stripe read)",
}
"""60.5 IC卡条件代码 (exact semantics unconfirmed; SD sends 2 on fallback)."""


@dataclasses.dataclass(frozen=True)
class Field60:
    """Field 60 split into its sub-fields; trailing ones the terminal left out are None."""

    txn_type: str
    batch: str | None = None
    network_code: str | None = None
    reading_capability: str | None = None
    ic_condition: str | None = None
    partial_flag: str | None = None
    account_type: str | None = None
    extension: str = ""


def parse_field_60(value: str) -> Field60:
    """Split the digits of field 60 (a shorter last sub-field is kept as sent)."""
    if not (value.isascii() and value.isdigit()) or len(value) < 2:
        raise DecodeError("field 60 needs at least 2 digits (60.1)", field="60")
    parts: dict[str, str | None] = {}
    position = 0
    for attribute, _, _, width in FIELD_60_WIDTHS:
        piece = value[position : position + width]
        parts[attribute] = piece or None
        position += width
    return Field60(
        txn_type=parts["txn_type"] or "",
        batch=parts["batch"],
        network_code=parts["network_code"],
        reading_capability=parts["reading_capability"],
        ic_condition=parts["ic_condition"],
        partial_flag=parts["partial_flag"],
        account_type=parts["account_type"],
        extension=value[position:],
    )


def build_field_60(field: Field60) -> str:
    """The digits of field 60; a sub-field may be None (or short) only if none follows."""
    out = []
    stop = None  # the first sub-field that ends the sequence (missing or short)
    for attribute, sub, _, width in FIELD_60_WIDTHS:
        piece = getattr(field, attribute)
        if piece is None:
            stop = stop or sub
            continue
        if stop:
            raise EncodeError(f"{sub} is given after a missing or short {stop}", field="60")
        if not (piece.isascii() and piece.isdigit()) or not 0 < len(piece) <= width:
            raise EncodeError(f"{sub} must be 1 to {width} digits", field="60")
        if len(piece) < width:
            stop = sub
        out.append(piece)
    if field.extension:
        if stop or not (field.extension.isascii() and field.extension.isdigit()):
            raise EncodeError("an extension needs all of 60.1-60.7 and digits only", field="60")
        out.append(field.extension)
    return "".join(out)


def describe_field_60(value: str) -> list[SubfieldView]:
    """The sub-fields for people: id, name, value and meaning where the tables know it."""
    parsed = parse_field_60(value)
    meanings = {
        "txn_type": TXN_TYPES,
        "network_code": NETWORK_CODES,
        "reading_capability": READING_CAPABILITIES,
        "ic_condition": IC_CONDITIONS,
    }
    rows = []
    for attribute, sub, name, _ in FIELD_60_WIDTHS:
        piece = getattr(parsed, attribute)
        if piece is None:
            break
        row: SubfieldView = {"id": sub, "name": name, "value": piece}
        meaning = meanings.get(attribute, {}).get(piece)
        if meaning:
            row["meaning"] = meaning
        rows.append(row)
    if parsed.extension:
        rows.append({"id": "60.x", "name": "acquirer extension", "value": parsed.extension})
    return rows
