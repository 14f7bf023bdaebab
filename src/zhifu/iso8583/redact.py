"""Redaction of messages for logs: what may be printed of each field.

* field 2 (PAN): first 6 and last 4 digits;
* fields 35 and 36 (tracks): the PAN part of track 2 as above, everything else masked;
* field 14 (expiry date): masked;
* field 52 (PIN block): never printed, only its size;
* field 62 of a sign-on response (working keys, even encrypted): never printed;
* field 55: the TLV objects with the PAN, track 2 and cardholder name tags masked;
* field 48 of a magnetic-stripe batch upload (0320, 60.3 ``201``): each record's PAN as above.

Everything else (amounts, STAN, RRN, response code, MAC, field 53) is not secret.

>>> from zhifu.iso8583.message import Message
>>> msg = Message("0200", {"2": "6217857600008050804", "4": "000000000001",
...                        "35": "6217857600008050804D23082201000082300",
...                        "52": "7D6A7408DFE2E9E5", "55": "5A0862178576000080509F360200CD"})
>>> shown = redact(msg)
>>> shown["2"], shown["4"]
('621785*********0804', '000000000001')
>>> shown["35"]
'621785*********0804D*****************'
>>> shown["52"], shown["55"]
('<PIN block, 8 bytes>', '5A=621785******8050 9F36=00CD')
"""

from __future__ import annotations

from collections.abc import Callable

from zhifu.codec.pan import mask_pan
from zhifu.codec.tlv import decode as decode_tlv
from zhifu.codec.tlv import describe
from zhifu.core.errors import DecodeError
from zhifu.iso8583.batch_records import parse_records
from zhifu.iso8583.fields_60 import SIGN_ON_CODES
from zhifu.iso8583.message import Message
from zhifu.iso8583.views import TlvTree

__all__ = ["is_key_block", "mask_track", "redact", "redact_field"]


def is_key_block(message: Message) -> bool:
    """Field 62 holds working keys: a sign-on response (0810 with 60.3 001/003/004/005/006)."""
    field_60 = message.get("60") or ""
    return message.mti == "0810" and field_60[8:11] in SIGN_ON_CODES


def mask_track(value: str) -> str:
    """A track: the PAN before the separator masked to 6 + 4, the rest all ``*``."""
    head, sep, tail = value.replace("=", "D").partition("D")
    if not sep:
        return "*" * len(value)
    return mask_pan(head) + sep + "*" * len(tail)


def _flatten(entries: TlvTree) -> list[str]:
    parts = []
    for entry in entries:
        if "children" in entry:
            parts.append(f"{entry['tag']}[" + " ".join(_flatten(entry["children"])) + "]")
        else:
            parts.append(f"{entry['tag']}={entry['value']}")
    return parts


def _redact_icc(value: str) -> str:
    try:
        items = decode_tlv(bytes.fromhex(value))
    except (ValueError, DecodeError):
        return f"<{len(value) // 2} bytes, not TLV>"
    return " ".join(_flatten(describe(items, reveal=False)))


def _all_masked(value: str) -> str:
    return "*" * len(value)


_MASKS: dict[str, Callable[[str], str]] = {
    "2": mask_pan,
    "14": _all_masked,
    "35": mask_track,
    "36": _all_masked,
    "52": lambda value: f"<PIN block, {len(value) // 2} bytes>",
    "55": _redact_icc,
}


def _upload_records(value: str) -> str:
    """Field 48 of a stripe batch upload: each record with its PAN masked."""
    try:
        records = parse_records(value)
    except DecodeError:
        return f"<{len(value)} digits, not upload records>"
    shown = [f"{r.txn_type}/{r.stan}/{r.amount}/{mask_pan(r.pan)}" for r in records]
    return f"{len(records):02d} " + " ".join(shown)


def _is_stripe_upload(message: Message) -> bool:
    """A 0320 of 60.3 ``201``: its field 48 records carry PANs."""
    return message.mti in ("0320", "0330") and (message.get("60") or "")[8:11] == "201"


def redact_field(number: str, value: str, message: Message | None = None) -> str:
    """The printable form of one field value."""
    if number == "62" and message is not None and is_key_block(message):
        return f"<working keys, {len(value) // 2} bytes>"
    if number == "48" and message is not None and _is_stripe_upload(message):
        return _upload_records(value)
    mask = _MASKS.get(number)
    return value if mask is None else mask(value)


def redact(message: Message) -> dict[str, str]:
    """The MTI and every field in printable form, keyed ``"mti"``, ``"2"``, ``"3"``..."""
    shown = {"mti": message.mti}
    for number in message:
        shown[number] = redact_field(number, message[number], message)
    return shown
