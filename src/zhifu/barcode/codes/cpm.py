"""EMVCo consumer-presented QR (CPM v1.1): base64 of BER-TLV, decoded and checked.

The POI rules (barcode.md §4.2): the text starts with ``hQVDUFY``; it is strict base64; the
bytes are BER-TLV whose first object is 85 = ``CPV01``; a 61 (application template) without a
4F of 5-16 bytes is skipped, and at least one must remain; for each application the combined
data of its 61 and of the 62 (common data) must not repeat a primitive and must hold 57 (track 2
equivalent) or 5A (PAN); 63 and 64 (transparent templates) are kept as opaque bytes. Luhn is
not checked (the EMVCo sample PAN fails it). Errors are :class:`DecodeError` with the tag (as
``field``) and the byte offset in the decoded data; they never quote a PAN or track data.

The BER-TLV reader is local to this module (the import table keeps ``barcode`` away from
``card``); it reads tags of up to 3 bytes, lengths of up to 2 bytes, nesting up to 4 levels.

>>> cpm = decode_cpm("hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8=")
>>> app = cpm.applications[0]
>>> app.aid, app.masked_pan, app.track2.expiry if app.track2 else None
('A0000000555555', '123456******3458', '1912')
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Final

from zhifu.core.errors import DecodeError

CPM_PREFIX: Final = "hQVDUFY"
MAX_TEXT: Final = 4096
MAX_DEPTH: Final = 4
TRANSPARENT: Final = frozenset({"63", "64"})


@dataclass(frozen=True, slots=True)
class Tlv:
    """One BER-TLV object; ``children`` is set for a constructed one."""

    tag: str
    value: bytes = field(repr=False)
    offset: int
    children: tuple[Tlv, ...] | None = None


def read_ber_tlv(data: bytes, *, offset: int = 0, depth: int = 0) -> tuple[Tlv, ...]:
    """Every object of ``data`` (constructed ones recursively); DecodeError on bad input."""
    if depth > MAX_DEPTH:
        raise DecodeError("templates nested too deeply", offset=offset)
    objects, pos = [], 0
    while pos < len(data):
        if data[pos] == 0x00:  # padding between objects (EMV Book 3 Annex B)
            pos += 1
            continue
        tag, pos_len = _read_tag(data, pos, offset)
        length, pos_val = _read_length(data, pos_len, offset, tag)
        end = pos_val + length
        if end > len(data):
            raise DecodeError(f"length {length} runs past the data", field=tag, offset=offset + pos)
        value = data[pos_val:end]
        children = None
        if data[pos] & 0x20:
            children = read_ber_tlv(value, offset=offset + pos_val, depth=depth + 1)
        objects.append(Tlv(tag, value, offset + pos, children))
        pos = end
    return tuple(objects)


def _read_tag(data: bytes, pos: int, base: int) -> tuple[str, int]:
    end = pos + 1
    if data[pos] & 0x1F == 0x1F:
        while True:
            if end >= len(data) or end - pos >= 3:
                raise DecodeError("tag truncated or longer than 3 bytes", offset=base + pos)
            end += 1
            if not data[end - 1] & 0x80:
                break
    return data[pos:end].hex().upper(), end


def _read_length(data: bytes, pos: int, base: int, tag: str) -> tuple[int, int]:
    if pos >= len(data):
        raise DecodeError("length missing", field=tag, offset=base + pos)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count not in (1, 2) or pos + 1 + count > len(data):
        raise DecodeError("length form not supported or truncated", field=tag, offset=base + pos)
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


@dataclass(frozen=True, slots=True)
class Track2:
    """Track 2 equivalent data (57): PAN, expiry YYMM, service code, discretionary data."""

    pan: str = field(repr=False)
    expiry: str
    service_code: str
    discretionary: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CpmApplication:
    """One eligible application: its 61 merged with the 62 common data."""

    aid: str
    label: str | None
    pan: str | None = field(repr=False)
    track2: Track2 | None
    cardholder_name: str | None = field(repr=False)
    data: dict[str, bytes] = field(repr=False)
    transparent: dict[str, bytes] = field(repr=False)

    @property
    def masked_pan(self) -> str | None:
        """First six and last four digits; the rest as ``*``."""
        pan = self.pan or (self.track2.pan if self.track2 else None)
        if pan is None:
            return None
        if len(pan) <= 10:
            return "*" * len(pan)
        return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]

    def to_dict(self) -> dict[str, Any]:
        """A printable view: masked PAN, no track or cryptogram values."""
        return {
            "aid": self.aid,
            "label": self.label,
            "pan": self.masked_pan,
            "expiry": self.track2.expiry if self.track2 else None,
            "service_code": self.track2.service_code if self.track2 else None,
            "tags": sorted(self.data),
            "transparent": sorted(self.transparent),
        }


@dataclass(frozen=True, slots=True)
class CpmPayload:
    format_indicator: str
    applications: tuple[CpmApplication, ...]
    objects: tuple[Tlv, ...] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_indicator": self.format_indicator,
            "applications": [a.to_dict() for a in self.applications],
        }


def decode_cpm(text: str) -> CpmPayload:
    """Decode and check a consumer-presented payload (see the module docstring)."""
    if not isinstance(text, str) or not text.startswith(CPM_PREFIX):
        raise DecodeError("not an EMV CPM code (does not start with hQVDUFY)", field="prefix")
    if len(text) > MAX_TEXT or not text.isascii():
        raise DecodeError("too long or not ASCII", field="base64", offset=0)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError("not valid base64", field="base64") from None
    objects = read_ber_tlv(data)
    first = objects[0] if objects else None
    if first is None or first.tag != "85" or first.value != b"CPV01":
        raise DecodeError("the payload format indicator is not CPV01", field="85", offset=0)
    common = next((o for o in objects if o.tag == "62" and o.children is not None), None)
    apps = [o for o in objects if o.tag == "61" and o.children is not None]
    if not apps:
        raise DecodeError("no application template", field="61")
    chosen = tuple(a for a in (_application(o, common) for o in apps) if a is not None)
    if not chosen:
        raise DecodeError("no application template with a 5-16 byte AID", field="4F")
    return CpmPayload("CPV01", chosen, objects)


def _application(template: Tlv, common: Tlv | None) -> CpmApplication | None:
    children = template.children or ()
    aid = next((c.value for c in children if c.tag == "4F"), None)
    if aid is None or not 5 <= len(aid) <= 16:
        return None
    data: dict[str, bytes] = {}
    transparent: dict[str, bytes] = {}
    for obj in (*children, *(common.children or () if common else ())):
        if obj.tag in TRANSPARENT:
            transparent[obj.tag] = obj.value
            continue
        if obj.children is not None:
            continue  # other templates are ignored but kept in the tree
        if obj.tag in data:
            raise DecodeError("primitive repeated in 61 + 62", field=obj.tag, offset=obj.offset)
        data[obj.tag] = obj.value
    if "57" not in data and "5A" not in data:
        raise DecodeError("neither 57 nor 5A", field="57", offset=template.offset)
    track2 = _track2(data["57"], template.offset) if "57" in data else None
    pan = _cn(data["5A"], "5A", template.offset) if "5A" in data else None
    return CpmApplication(
        aid=aid.hex().upper(),
        label=_text(data.get("50")),
        pan=pan,
        track2=track2,
        cardholder_name=_text(data.get("5F20")),
        data=data,
        transparent=transparent,
    )


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _cn(value: bytes, tag: str, offset: int) -> str:
    digits = value.hex().upper().rstrip("F")
    if not digits.isdigit() or len(digits) > 19:
        raise DecodeError("not compressed numeric", field=tag, offset=offset)
    return digits


def _track2(value: bytes, offset: int) -> Track2:
    nibbles = value.hex().upper()
    if nibbles.endswith("F"):
        nibbles = nibbles[:-1]
    pan, sep, rest = nibbles.partition("D")
    if not sep or not pan.isdigit() or len(pan) > 19 or len(rest) < 7 or not rest.isdigit():
        raise DecodeError("malformed track 2 equivalent data", field="57", offset=offset)
    return Track2(pan, rest[:4], rest[4:7], rest[7:])
