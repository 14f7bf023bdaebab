"""Field 55 (IC卡数据域): the EMV data objects, as BER-TLV through :mod:`zhifu.codec.tlv`.

Field values are upper-case hex in a :class:`~zhifu.iso8583.message.Message`; these helpers turn
them into :class:`~zhifu.codec.tlv.Tlv` lists and back. Tag lists follow
docs/standards/iso8583-cup.md §3 and 4
(SD, PX, GO): what a sale request carries, what a reversal keeps, what a script advice sends.

>>> items = parse_icc_data("9F3602031E910A42FE066E2918B088303")
Traceback (most recent call last):
...
zhifu.core.errors.DecodeError: field 55: the ICC data is not whole bytes of hex
>>> items = parse_icc_data("9F3602031E910A42FE066E2918B0883030")
>>> [item.tag_hex for item in items]
['9F36', '91']
>>> build_icc_data(items)
'9F3602031E910A42FE066E2918B0883030'
>>> missing_tags(items, REVERSAL_TAGS)
['95', '9F1E', '9F10', 'DF31']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from zhifu.codec.tlv import Tlv, describe, render_tree
from zhifu.codec.tlv import decode as decode_tlv
from zhifu.codec.tlv import encode as encode_tlv
from zhifu.core.errors import DecodeError
from zhifu.iso8583.views import TlvTree

__all__ = [
    "REQUEST_TAGS",
    "REQUEST_TAGS_OPTIONAL",
    "RESPONSE_TAGS",
    "REVERSAL_TAGS",
    "SCRIPT_ADVICE_TAGS",
    "build_icc_data",
    "describe_icc_data",
    "missing_tags",
    "parse_icc_data",
    "render_icc_data",
]

REQUEST_TAGS: Final = (
    "9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82", "9F1A",
    "9F03", "9F33",
)  # fmt: skip
"""Tags a sale / pre-auth / balance request carries (docs/standards/iso8583-cup.md field 55)."""
REQUEST_TAGS_OPTIONAL: Final = ("9F34", "9F35", "9F1E", "84", "9F09", "9F41", "9F63")
RESPONSE_TAGS: Final = ("9F36", "91", "71", "72")
"""What a response may carry: ATC, issuer authentication data (ARPC + ARC), scripts."""
REVERSAL_TAGS: Final = ("95", "9F1E", "9F10", "9F36", "DF31")
"""The reduced field 55 of a reversal (docs/standards/iso8583-cup.md §4.4)."""
SCRIPT_ADVICE_TAGS: Final = (
    "9F33", "95", "9F37", "9F1E", "9F10", "9F26", "9F36", "82", "DF31", "9F1A", "9A",
)  # fmt: skip
"""Field 55 of a script result advice (0620)."""


def _bytes_of(value: str | bytes) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise DecodeError("the ICC data is not whole bytes of hex", field="55") from None


def parse_icc_data(value: str | bytes, *, offset_base: int = 0) -> list[Tlv]:
    """The TLV objects of field 55 (hex text or bytes); errors name the tag and offset."""
    return decode_tlv(_bytes_of(value), offset_base=offset_base)


def build_icc_data(items: Iterable[Tlv]) -> str:
    """Field 55 value (upper-case hex) from TLV objects, in the order given."""
    return encode_tlv(items).hex().upper()


def missing_tags(items: Sequence[Tlv], wanted: Iterable[str]) -> list[str]:
    """The tags of ``wanted`` not present at the top level of ``items``."""
    present = {item.tag_hex for item in items}
    return [tag for tag in wanted if tag not in present]


def describe_icc_data(value: str | bytes, *, reveal: bool = False) -> TlvTree:
    """A JSON-ready tag tree with names (PAN, track 2 and names masked unless ``reveal``)."""
    return describe(parse_icc_data(value), reveal=reveal)


def render_icc_data(value: str | bytes, *, reveal: bool = False, indent: int = 2) -> str:
    """An indented tag tree with names, for people."""
    return render_tree(parse_icc_data(value), reveal=reveal, indent=indent)
