"""Encode and decode UnionPay POS messages (from the MTI on) with a profile, on pyiso8583.

pyiso8583 reads the bitmap, the BCD length prefixes and the field bytes; this module adds what
the dialect needs on top: fields outside the dictionary are refused before anything is read,
numeric fields must hold digits, the odd-length fixed fields (22 left-aligned, 23 right-aligned)
are padded and unpadded here, and a pad nibble other than the profile's is accepted and kept
(``Message.pads``) so that every message that decodes re-encodes to the very same bytes.

Every failure is a :class:`~zhifu.core.errors.DecodeError` or
:class:`~zhifu.core.errors.EncodeError` naming the field and, when decoding, the byte offset
(``offset_base`` makes it absolute in a frame). Error texts never contain field values. The
caller's :class:`~zhifu.iso8583.message.Message` is never modified.

>>> raw = bytes.fromhex("0800" "0020000000C00012" "000001" "3232303033363030"
...                     "313034353132353431313130303031" "0011" "000000000030" "0003" "303031")
>>> msg = decode(raw)
>>> msg.mti, msg["11"], msg["41"], msg["60"], msg["63"]
('0800', '000001', '22003600', '00000000003', '001')
>>> encode(msg) == raw
True
>>> decode(raw[:-2])
Traceback (most recent call last):
...
zhifu.core.errors.DecodeError: field 63 at offset 46: Field data is 1 bytes, expecting 3
"""

from __future__ import annotations

from collections.abc import Mapping

import iso8583

from zhifu.core.errors import DecodeError, EncodeError, UsageError
from zhifu.iso8583.framing import MESSAGE_OFFSET, Frame, Header, Tpdu, frame, unframe
from zhifu.iso8583.message import Message
from zhifu.iso8583.profiles import DIGITS, ODD_FIXED, TRACK, Profile, PyisoSpec, get_profile
from zhifu.iso8583.specs import FieldSpec

__all__ = ["decode", "decode_frame", "encode", "encode_frame", "field_offsets"]

_MAX_PAD_RETRIES = 8
_NAMES = {"t": "mti", "p": "bitmap", "1": "1", "h": "header"}


# ------------------------------------------------------------------------------------ decode


def decode(
    message: bytes, profile: str | Profile | None = None, *, offset_base: int = 0
) -> Message:
    """Decode ``message`` (MTI, bitmap, fields) into a :class:`Message`.

    ``offset_base`` is added to every offset in an error (13 for a message inside a frame).
    """
    prof = get_profile(profile)
    if not isinstance(message, bytes | bytearray | memoryview):
        raise UsageError(f"bytes expected, not {type(message).__name__}", argument="message")
    data = bytes(message)
    _check_head(data, prof, offset_base)
    fields, doc_enc, pads = _pyiso_decode(data, prof, offset_base)
    mti = fields.pop("t")
    del fields["p"]
    present = fields.keys()
    for number in prof.odd_fixed_numbers & present:
        fields[number] = _unpad(prof.specs[number], fields[number], pads)
    numeric = [fields[n] for n in prof.numeric_numbers & present]
    if numeric and not "".join(numeric).isdigit():
        _check_digits(fields, prof, doc_enc, offset_base)
    return Message(mti, fields, pads)


def _check_digits(
    fields: Mapping[str, str], prof: Profile, doc_enc: Mapping[str, Mapping[str, bytes]], base: int
) -> None:
    """Raise for the first numeric field holding a nibble that is not a digit."""
    for number, value in fields.items():
        if prof.plan[number] in (DIGITS, ODD_FIXED) and value and not value.isdigit():
            offset = base + field_offsets(doc_enc)[number]
            raise DecodeError("numeric field holds non-digit nibbles", field=number, offset=offset)


def _check_head(data: bytes, profile: Profile, base: int) -> None:
    if len(data) < 2:
        raise DecodeError(f"{len(data)} bytes, the MTI needs 2", field="mti", offset=base)
    mti = data[:2].hex()
    if not mti.isdigit():
        raise DecodeError("the MTI is not 4 BCD digits", field="mti", offset=base)
    if len(data) < 10:
        raise DecodeError(
            f"{len(data) - 2} bytes, the bitmap needs 8", field="bitmap", offset=base + 2
        )
    bitmap = int.from_bytes(data[2:10], "big")
    if bitmap >> 63:
        raise DecodeError(
            "a secondary bitmap is not used by UnionPay POS", field="1", offset=base + 2
        )
    stray = bitmap & ~profile.allowed_mask
    if stray:
        number = 65 - stray.bit_length()
        raise DecodeError(
            f"the bitmap marks a field the {profile.name} dictionary does not have",
            field=str(number),
            offset=base + 2,
        )


def _pyiso_decode(
    data: bytes, profile: Profile, base: int
) -> tuple[dict[str, str], dict[str, dict[str, bytes]], dict[str, str]]:
    """pyiso8583 decode; an unexpected pad nibble is retried with that pad and kept."""
    pads: dict[str, str] = {}
    for _ in range(_MAX_PAD_RETRIES + 1):
        try:
            spec = profile.pyiso_spec(pads) if pads else profile.default_spec
            doc_dec, doc_enc = iso8583.decode(data, spec)
        except iso8583.DecodeError as exc:
            pad = _unexpected_pad(exc, profile)
            if pad is None or exc.field in pads:
                raise _decode_error(exc, base) from None
            pads[exc.field] = pad
            continue
        return doc_dec, doc_enc, pads
    raise DecodeError("too many unusual pad nibbles", offset=base)  # pragma: no cover


def _unexpected_pad(exc: iso8583.DecodeError, profile: Profile) -> str | None:
    """The pad nibble found when pyiso8583 failed only because it was not the expected one."""
    spec = profile.specs.get(exc.field)
    if spec is None or not spec.is_bcd or spec.length_type == "fixed":
        return None
    encoded = exc.doc_enc.get(exc.field, {})
    prefix, data = encoded.get("len", b""), encoded.get("data", b"")
    try:
        expected = int(prefix.hex(), 10)
    except ValueError:
        return None
    if not expected & 1 or len(data) * 2 != expected + 1:
        return None
    nibbles = data.hex().upper()
    return nibbles[-1] if spec.align == "left" else nibbles[0]


def _decode_error(exc: iso8583.DecodeError, base: int) -> DecodeError:
    field: str | None = _NAMES.get(exc.field, exc.field)
    reason = exc.msg
    if reason.startswith("Extra data after last field"):
        reason = "extra bytes after the last field"
        field = None
    return DecodeError(reason, field=field, offset=base + exc.pos)


def _unpad(spec: FieldSpec, value: str, pads: dict[str, str]) -> str:
    """An odd-length fixed BCD field without its pad nibble (kept in ``pads`` if unusual)."""
    if spec.align == "left":
        pad, digits = value[-1], value[:-1]
    else:
        pad, digits = value[0], value[1:]
    if pad != spec.pad:
        pads[spec.number] = pad
    return digits


def field_offsets(doc_enc: Mapping[str, Mapping[str, bytes]]) -> dict[str, int]:
    """Byte offset of every field (its length prefix) from the MTI, given pyiso8583's doc_enc."""
    offsets = {"t": 0, "p": 2}
    position = 10
    for number in sorted((k for k in doc_enc if k.isdigit()), key=int):
        offsets[number] = position
        part = doc_enc[number]
        position += len(part["len"]) + len(part["data"])
    return offsets


# ------------------------------------------------------------------------------------ encode


def encode(message: Message, profile: str | Profile | None = None) -> bytes:
    """Encode ``message`` (MTI, bitmap, fields) to bytes; the message is left untouched."""
    prof = get_profile(profile)
    mti = message.mti
    if not isinstance(mti, str) or len(mti) != 4 or not (mti.isascii() and mti.isdigit()):
        raise EncodeError("the MTI must be 4 digits", field="mti")
    fields = message.fields
    present = fields.keys()
    if not present <= prof.numbers:
        stray = next(n for n in fields if n not in prof.numbers)
        raise EncodeError(f"the {prof.name} dictionary does not have this field", field=str(stray))
    doc = dict(fields)
    doc["t"] = mti
    pads = message.pads
    for number in prof.special_numbers & present:
        spec = prof.specs[number]
        doc[number] = _wire_bcd(spec, fields[number], pads.get(number) or spec.pad)
    digits = [fields[n] for n in prof.digit_numbers & present]
    if digits and not _all_digits(digits):
        _check_encode_digits(fields, prof)
    try:
        encoded, _ = iso8583.encode(doc, _encode_spec(prof, pads))
    except iso8583.EncodeError as exc:
        raise _encode_error(exc, fields) from None
    return bytes(encoded)


def _all_digits(values: list[str]) -> bool:
    try:
        joined = "".join(values)
    except TypeError:
        return False
    return joined.isdigit() or not joined


def _check_encode_digits(fields: Mapping[str, object], prof: Profile) -> None:
    for number, value in fields.items():
        if not isinstance(value, str):
            raise EncodeError(f"value must be a str, not {type(value).__name__}", field=number)
        if prof.plan[number] == DIGITS and value and not value.isdigit():
            raise EncodeError(f"numeric field: digits only ({len(value)} given)", field=number)


def _encode_spec(prof: Profile, pads: Mapping[str, str]) -> PyisoSpec:
    if pads:
        var_pads = {
            number: pad
            for number, pad in pads.items()
            if prof.plan.get(number) in (DIGITS, TRACK) and pad != prof.specs[number].pad
        }
        if var_pads:
            return prof.pyiso_spec(var_pads)
    return prof.default_spec


def _encode_error(exc: iso8583.EncodeError, fields: Mapping[str, object]) -> EncodeError:
    field = _NAMES.get(exc.field, exc.field)
    value = fields.get(exc.field)
    if exc.field in fields and not isinstance(value, str):
        return EncodeError(f"value must be a str, not {type(value).__name__}", field=field)
    return EncodeError(exc.msg, field=field)


def _wire_bcd(spec: FieldSpec, value: str, pad: str) -> str:
    """The hex pyiso8583 gets for an odd fixed field (padded) or a track (``=`` -> ``D``)."""
    if not isinstance(value, str):
        raise EncodeError(f"value must be a str, not {type(value).__name__}", field=spec.number)
    if spec.fmt == "z":
        return value.replace("=", "D") if "=" in value else value
    if not (value.isascii() and value.isdigit()) or len(value) != spec.max_len:
        raise EncodeError(f"expected {spec.max_len} digits, got {len(value)}", field=spec.number)
    return value + pad if spec.align == "left" else pad + value


# ------------------------------------------------------------------------------------ frames


def decode_frame(data: bytes, profile: str | Profile | None = None) -> tuple[Frame, Message]:
    """Split a whole frame and decode its message; error offsets count from the frame start."""
    framed = unframe(data)
    return framed, decode(framed.message, profile, offset_base=MESSAGE_OFFSET)


def encode_frame(
    message: Message, tpdu: Tpdu, header: Header, profile: str | Profile | None = None
) -> bytes:
    """A whole frame (length, TPDU, header) around the encoded ``message``."""
    return frame(tpdu, header, encode(message, profile))
