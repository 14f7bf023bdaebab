"""Field 62 (自定义域), the multi-use field: sign-on working keys, parameter queries, downloads.

* Sign-on response (0810, 60.3 = 001/003/004/005/006): the working keys encrypted under the
  terminal master key, each followed by a 4-byte check value (docs/standards/iso8583-cup.md §3.3):
  ``001`` PIK(8)+CV+MAK(8)+CV (24 bytes); ``003`` PIK(16)+CV+MAK(16)+CV (40); ``004`` as 003 +
  TDK(16)+CV (60). For the SM4 sign-ons 005/006 no public layout exists; zhifu uses the 003/004
  layout with 16-byte SM4 keys (40 and 60 bytes) — a project choice.
* Query (0820, 60.3 = 372/373/382/362): request ``1`` + 2-digit start index (ASCII, ``b"100"``);
  response: a status character (``0`` nothing, ``1`` list complete, ``2`` more to follow) then
  TLV records (CAPK: 9F06 RID, 9F22 index, DF05 expiry; AID: 9F06).
* Download (0800, 60.3 = 370/380/...): request = the key TLV (9F06 + 9F22 for a CAPK, 9F06 for
  an AID); response: ``0`` none, or ``1`` + the TLV record.

This module only lays bytes out; the keys stay cryptograms (the host and the terminal do the
cryptography) and a :class:`SignOnKeys` never shows them in its ``repr``.

>>> keys = parse_sign_on_keys(bytes(16) + b"\\x01\\x02\\x03\\x04" + bytes(20), "003")
>>> keys
SignOnKeys(pik=<16 bytes>, mak=<16 bytes>, tdk=None)
>>> keys.pik_cv.hex(), keys.mak_single_length
('01020304', True)
>>> build_query_request(0)
b'100'
>>> rec = bytes.fromhex("9F0605A0000003339F220103DF05083230323431323331")
>>> status, records = parse_query_response(b"1" + rec + rec)
>>> status, len(records), records[0][1].tag_hex
('1', 2, '9F22')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Final

from zhifu.codec.tlv import Tlv
from zhifu.codec.tlv import decode as decode_tlv
from zhifu.codec.tlv import encode as encode_tlv
from zhifu.core.errors import DecodeError, EncodeError

__all__ = [
    "CV_SIZE",
    "DOWNLOAD_NONE",
    "DOWNLOAD_RECORD",
    "DOWNLOAD_TAG_NAMES",
    "QUERY_COMPLETE",
    "QUERY_MORE",
    "QUERY_NONE",
    "SIGN_ON_LAYOUTS",
    "SignOnKeys",
    "build_download_request",
    "build_download_response",
    "build_query_request",
    "build_query_response",
    "build_sign_on_keys",
    "parse_download_request",
    "parse_download_response",
    "parse_query_request",
    "parse_query_response",
    "parse_sign_on_keys",
]

CV_SIZE: Final = 4
SIGN_ON_LAYOUTS: Final[dict[str, tuple[int, int, int]]] = {
    "001": (8, 8, 0),
    "003": (16, 16, 0),
    "004": (16, 16, 16),
    "005": (16, 16, 0),
    "006": (16, 16, 16),
}
"""60.3 -> (PIK size, MAK size, TDK size) in bytes; each key is followed by a 4-byte CV."""

QUERY_NONE, QUERY_COMPLETE, QUERY_MORE = "0", "1", "2"
DOWNLOAD_NONE, DOWNLOAD_RECORD = "0", "1"

DOWNLOAD_TAG_NAMES: Final[dict[str, str]] = {
    "9F06": "AID / RID",
    "9F22": "CA public key index",
    "DF05": "CA public key expiry (YYYYMMDD)",
    "DF06": "hash algorithm indicator",
    "DF07": "public key algorithm indicator",
    "DF02": "CA public key modulus",
    "DF04": "CA public key exponent",
    "DF03": "CA public key check value (SHA-1)",
    "DF01": "application selection indicator",
    "9F08": "application version number",
    "9F09": "application version number (terminal)",
    "DF11": "TAC default",
    "DF12": "TAC online",
    "DF13": "TAC denial",
    "9F1B": "terminal floor limit",
    "DF15": "threshold value for biased random selection",
    "DF16": "maximum target percentage",
    "DF17": "target percentage",
    "DF14": "default DDOL",
    "DF18": "terminal online PIN capability",
    "9F7B": "e-cash terminal transaction limit",
    "DF19": "contactless offline floor limit",
    "DF20": "contactless transaction limit",
    "DF21": "CVM required limit",
}
"""Tags of CAPK and AID download records as POS vendors use them (not in the digest; a guide
for displays only — records are kept as whatever TLV the host sends)."""


# ------------------------------------------------------------------------------------ keys


@dataclasses.dataclass(frozen=True, repr=False)
class SignOnKeys:
    """Working keys of a sign-on response, encrypted under the TMK, with their check values."""

    pik: bytes
    pik_cv: bytes
    mak: bytes
    mak_cv: bytes
    tdk: bytes | None = None
    tdk_cv: bytes | None = None

    def __repr__(self) -> str:
        tdk = "None" if self.tdk is None else f"<{len(self.tdk)} bytes>"
        return f"SignOnKeys(pik=<{len(self.pik)} bytes>, mak=<{len(self.mak)} bytes>, tdk={tdk})"

    @property
    def mak_single_length(self) -> bool:
        """A 16-byte MAK slot whose second half is zeros: a single-length MAK (003 practice)."""
        return len(self.mak) == 16 and self.mak[8:] == bytes(8)


def parse_sign_on_keys(data: bytes, network_code: str) -> SignOnKeys:
    """Split field 62 of a sign-on response by its 60.3 code."""
    layout = SIGN_ON_LAYOUTS.get(network_code)
    if layout is None:
        raise DecodeError(f"60.3 {network_code!r} is not a sign-on", field="60")
    expected = sum(size + CV_SIZE for size in layout if size)
    if len(data) != expected:
        raise DecodeError(
            f"sign-on {network_code} keys take {expected} bytes, field 62 has {len(data)}",
            field="62",
        )
    parts: list[bytes | None] = []
    position = 0
    for size in layout:
        if not size:
            parts += [None, None]
            continue
        parts.append(bytes(data[position : position + size]))
        parts.append(bytes(data[position + size : position + size + CV_SIZE]))
        position += size + CV_SIZE
    pik, pik_cv, mak, mak_cv, tdk, tdk_cv = parts
    assert pik is not None and pik_cv is not None and mak is not None and mak_cv is not None
    return SignOnKeys(pik, pik_cv, mak, mak_cv, tdk, tdk_cv)


def build_sign_on_keys(keys: SignOnKeys, network_code: str) -> bytes:
    """Field 62 of a sign-on response (an 8-byte MAK in a 16-byte slot is zero-filled)."""
    layout = SIGN_ON_LAYOUTS.get(network_code)
    if layout is None:
        raise EncodeError(f"60.3 {network_code!r} is not a sign-on", field="60")
    items = ((keys.pik, keys.pik_cv), (keys.mak, keys.mak_cv), (keys.tdk, keys.tdk_cv))
    out = b""
    for (given, cv), size, name in zip(items, layout, ("PIK", "MAK", "TDK"), strict=True):
        if not size:
            if given is not None:
                raise EncodeError(f"sign-on {network_code} carries no {name}", field="62")
            continue
        if given is None or cv is None or len(cv) != CV_SIZE:
            raise EncodeError(f"{name} and its 4-byte check value are required", field="62")
        key = given + bytes(8) if name == "MAK" and len(given) == 8 and size == 16 else given
        if len(key) != size:
            raise EncodeError(f"the {name} slot is {size} bytes, not {len(key)}", field="62")
        out += key + cv
    return out


# ------------------------------------------------------------------------------------ queries


def build_query_request(start: int) -> bytes:
    """Field 62 of a CAPK/AID query: ``1`` and the 2-digit start index, in ASCII."""
    if not 0 <= start <= 99:
        raise EncodeError("the start index is 0 to 99", field="62")
    return f"1{start:02d}".encode("ascii")


def parse_query_request(data: bytes) -> int:
    """The start index of a query request (``b"100"`` -> 0)."""
    text = bytes(data)
    if len(text) != 3 or text[:1] != b"1" or not text[1:].isdigit():
        raise DecodeError("a query request is '1' and 2 digits", field="62")
    return int(text[1:])


def _records(items: Sequence[Tlv]) -> list[list[Tlv]]:
    """Group consecutive TLV objects into records, each starting at a 9F06."""
    records: list[list[Tlv]] = []
    for item in items:
        if item.tag == 0x9F06 or not records:
            records.append([])
        records[-1].append(item)
    return records


def _status(data: bytes, allowed: str, what: str) -> str:
    if not data or chr(data[0]) not in allowed:
        raise DecodeError(f"a {what} starts with one of {', '.join(allowed)}", field="62", offset=0)
    return chr(data[0])


def parse_query_response(data: bytes) -> tuple[str, list[list[Tlv]]]:
    """(status, records) of a query response; records are TLV lists starting at 9F06."""
    raw = bytes(data)
    status = _status(raw, QUERY_NONE + QUERY_COMPLETE + QUERY_MORE, "query response")
    return status, _records(decode_tlv(raw[1:], offset_base=1))


def build_query_response(status: str, records: Iterable[Iterable[Tlv]]) -> bytes:
    """A query response: the status character and the records' TLV."""
    if status not in (QUERY_NONE, QUERY_COMPLETE, QUERY_MORE):
        raise EncodeError("the query status is 0, 1 or 2", field="62")
    return status.encode("ascii") + b"".join(encode_tlv(record) for record in records)


# ------------------------------------------------------------------------------------ downloads


def build_download_request(key: Iterable[Tlv]) -> bytes:
    """Field 62 of a download request: the record's key as TLV (9F06 [+ 9F22])."""
    return encode_tlv(key)


def parse_download_request(data: bytes) -> list[Tlv]:
    """The key TLV objects of a download request."""
    return decode_tlv(bytes(data))


def parse_download_response(data: bytes) -> tuple[str, list[Tlv]]:
    """(status, record): ``0`` and nothing, or ``1`` and the TLV record."""
    raw = bytes(data)
    status = _status(raw, DOWNLOAD_NONE + DOWNLOAD_RECORD, "download response")
    return status, decode_tlv(raw[1:], offset_base=1)


def build_download_response(record: Iterable[Tlv] | None) -> bytes:
    """A download response: ``0`` when there is no record, else ``1`` + its TLV."""
    if record is None:
        return DOWNLOAD_NONE.encode("ascii")
    return DOWNLOAD_RECORD.encode("ascii") + encode_tlv(record)
