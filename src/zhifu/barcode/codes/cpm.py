"""EMVCo consumer-presented QR (CPM v1.1): base64 of BER-TLV, decoded and checked.

The POI rules (docs/standards/barcode.md §4.2): the text starts with ``hQVDUFY``; it is strict
base64; the
bytes are BER-TLV whose first object is 85 = ``CPV01``; a 61 (application template) without a
4F of 5-16 bytes is skipped, and at least one must remain; for each application the combined
data of its 61 and of the 62 (common data) must not repeat a primitive and must hold 57 (track 2
equivalent) or 5A (PAN); 63 and 64 (transparent templates) are kept as opaque bytes. Luhn is
not checked (the EMVCo sample PAN fails it). Errors are :class:`DecodeError` with the tag (as
``field``) and the byte offset in the decoded data; they never quote a PAN or track data.

The BER-TLV is read by :mod:`zhifu.codec.tlv` within CPM's limits: tags of up to 3 bytes,
lengths of up to 2 bytes after ``81``/``82``, ``00`` as the only padding, templates nested up to
4 levels below the top. Track 2 equivalent data is read by :mod:`zhifu.codec.tracks`.

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

from zhifu.codec import tlv
from zhifu.codec.pan import mask_pan
from zhifu.codec.tlv import Tlv
from zhifu.codec.tracks import Track2, TrackError, track2_equivalent_decode
from zhifu.core.errors import DecodeError

CPM_PREFIX: Final = "hQVDUFY"
MAX_TEXT: Final = 4096
MAX_DEPTH: Final = 5  # levels of objects, the top one included
TRANSPARENT: Final = frozenset({"63", "64"})


def read_ber_tlv(data: bytes) -> tuple[Tlv, ...]:
    """Every object of ``data`` (constructed ones recursively) within CPM's limits.

    Bad input raises :class:`DecodeError` naming the object's tag as ``field`` (no field when
    the tag itself cannot be read) and the byte offset in ``data``.
    """
    try:
        objects = tlv.decode(
            data, max_depth=MAX_DEPTH, max_tag_bytes=3, max_length_bytes=2, ff_padding=False
        )
    except DecodeError as exc:
        if exc.field != "tag":
            raise
        raise DecodeError(exc.reason, offset=exc.offset) from None
    return tuple(objects)


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
        return None if pan is None else mask_pan(pan)

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
    if first is None or first.tag != 0x85 or first.value != b"CPV01":
        raise DecodeError("the payload format indicator is not CPV01", field="85", offset=0)
    common = next((o for o in objects if o.tag == 0x62), None)
    apps = [o for o in objects if o.tag == 0x61]
    if not apps:
        raise DecodeError("no application template", field="61")
    chosen = tuple(a for a in (_application(o, common) for o in apps) if a is not None)
    if not chosen:
        raise DecodeError("no application template with a 5-16 byte AID", field="4F")
    return CpmPayload("CPV01", chosen, objects)


def _application(template: Tlv, common: Tlv | None) -> CpmApplication | None:
    aid = next((c.value for c in template.children if c.tag == 0x4F), None)
    if aid is None or not 5 <= len(aid) <= 16:
        return None
    data: dict[str, bytes] = {}
    transparent: dict[str, bytes] = {}
    for obj in (*template.children, *(common.children if common else ())):
        tag = obj.tag_hex
        if tag in TRANSPARENT:
            transparent[tag] = obj.value
            continue
        if obj.constructed:
            continue  # other templates are ignored but kept in the tree
        if tag in data:
            raise DecodeError("primitive repeated in 61 + 62", field=tag, offset=obj.offset)
        data[tag] = obj.value
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


def _cn(value: bytes, tag: str, offset: int | None) -> str:
    digits = value.hex().upper().rstrip("F")
    if not digits.isdigit() or len(digits) > 19:
        raise DecodeError("not compressed numeric", field=tag, offset=offset)
    return digits


def _track2(value: bytes, offset: int | None) -> Track2:
    """Tag 57 with an expiry and a service code; errors point at the application template."""
    try:
        track = track2_equivalent_decode(value)
    except TrackError as exc:
        reason = f"malformed track 2 equivalent data ({exc.field}: {exc.reason})"
        raise DecodeError(reason, field="57", offset=offset) from None
    if track.expiry is None or track.service_code is None:
        reason = "malformed track 2 equivalent data (no expiry or service code)"
        raise DecodeError(reason, field="57", offset=offset)
    return track
