"""Small sub-field codecs: 22 entry mode, 25 condition, 26 PIN capture, 53 security control,
44 additional response data, 61 original message data, 63 operator / card organisation.

Tables and layouts from docs/standards/iso8583-cup.md §3.1, 3.2 and 6.5.

>>> parse_entry_mode("071")
EntryMode(pan_entry='07', pin_capability='1')
>>> PAN_ENTRY_MODES["07"]
'contactless (qPBOC)'
>>> build_security_control(SecurityControl("2", "6", "0"))    # docs/standards/card-terminal.md T29
'2600000000000000'
>>> parse_security_control("2610000000000000").track_encryption
'1'
>>> parse_field_61("0000010001230315")  # doctest: +ELLIPSIS
Field61(orig_batch='000001', orig_trace='000123', orig_date='0315', orig_auth_mode=None, ...)
>>> parse_field_44("00000000   61046500   ")
('00000000', '61046500')
>>> parse_field_63("CUP")
Field63(code='CUP', text='')
"""

from __future__ import annotations

import dataclasses
from typing import Final

from zhifu.core.errors import DecodeError, EncodeError

__all__ = [
    "PAN_ENTRY_MODES",
    "PIN_ALGORITHMS",
    "PIN_CAPABILITIES",
    "PIN_FORMATS",
    "POS_CONDITION_CODES",
    "TRACK_ENCRYPTION",
    "EntryMode",
    "Field61",
    "Field63",
    "SecurityControl",
    "build_entry_mode",
    "build_field_44",
    "build_field_61",
    "build_field_63",
    "build_security_control",
    "max_pin_length",
    "parse_entry_mode",
    "parse_field_44",
    "parse_field_61",
    "parse_field_63",
    "parse_security_control",
]


def _digits(
    value: str, size: int, field: str, error: type[DecodeError | EncodeError] = DecodeError
) -> str:
    if len(value) != size or not (value.isascii() and value.isdigit()):
        raise error(f"expected {size} digits, got {len(value)} characters", field=field)
    return value


# ------------------------------------------------------------------------------------ 22 / 25 / 26

PAN_ENTRY_MODES: Final[dict[str, str]] = {
    "01": "manual key entry",
    "02": "magnetic stripe",
    "03": "barcode / QR (acquirer use)",
    "05": "contact IC",
    "07": "contactless (qPBOC)",
    "80": "fallback: chip failed, stripe read",
    "91": "contactless magnetic stripe (MSD)",
    "96": "contactless / mobile (other)",
    "98": "contactless / mobile (other)",
}
"""Field 22 digits 1-2: how the PAN was read."""

PIN_CAPABILITIES: Final[dict[str, str]] = {
    "0": "unspecified",
    "1": "PIN entered (terminal can take a PIN)",
    "2": "no PIN (terminal cannot take one)",
}
"""Field 22 digit 3."""

POS_CONDITION_CODES: Final[dict[str, str]] = {
    "00": "normal",
    "06": "pre-authorisation family",
    "91": "e-cash load (PS service codes)",
}
"""Field 25 服务点条件码."""


@dataclasses.dataclass(frozen=True)
class EntryMode:
    """Field 22: PAN entry mode (2 digits) and PIN capability (1 digit)."""

    pan_entry: str
    pin_capability: str


def parse_entry_mode(value: str) -> EntryMode:
    """Split field 22 (3 digits)."""
    _digits(value, 3, "22")
    return EntryMode(value[:2], value[2])


def build_entry_mode(mode: EntryMode) -> str:
    """The 3 digits of field 22."""
    return _digits(mode.pan_entry + mode.pin_capability, 3, "22", EncodeError)


def max_pin_length(value: str) -> int:
    """Field 26: the longest PIN the PIN pad accepts (``06`` or ``12`` in practice)."""
    length = int(_digits(value, 2, "26"))
    if not 4 <= length <= 12:
        raise DecodeError(f"a PIN capture code of {length} is outside 4-12", field="26")
    return length


# ------------------------------------------------------------------------------------ 53

PIN_FORMATS: Final[dict[str, str]] = {
    "0": "no PIN / unknown",
    "1": "ANSI X9.8 without PAN",
    "2": "ANSI X9.8 with PAN (ISO 9564 format 0)",
}
PIN_ALGORITHMS: Final[dict[str, str]] = {
    "0": "single-length DES",
    "6": "double-length 3DES",
    "3": "SM4",
}
TRACK_ENCRYPTION: Final[dict[str, str]] = {"0": "tracks in clear", "1": "tracks encrypted (TDK)"}


@dataclasses.dataclass(frozen=True)
class SecurityControl:
    """Field 53: PIN format, encryption algorithm, track encryption (digits 4-16 are zero)."""

    pin_format: str = "2"
    algorithm: str = "6"
    track_encryption: str = "0"


def parse_security_control(value: str) -> SecurityControl:
    """Split field 53 (16 digits); unknown digit values are kept, reserved digits must be 0."""
    _digits(value, 16, "53")
    if value[3:] != "0" * 13:
        raise DecodeError("digits 4-16 of field 53 are reserved (zeros)", field="53")
    return SecurityControl(value[0], value[1], value[2])


def build_security_control(control: SecurityControl) -> str:
    """The 16 digits of field 53."""
    head = control.pin_format + control.algorithm + control.track_encryption
    return _digits(head, 3, "53", EncodeError) + "0" * 13


# ------------------------------------------------------------------------------------ 44


def parse_field_44(value: str) -> tuple[str, str]:
    """Field 44: (44.1 issuing bank id, 44.2 acquiring institution id), each an11, unpadded."""
    if len(value) > 22:
        raise DecodeError(f"field 44 of {len(value)} characters exceeds 22", field="44")
    return value[:11].rstrip(" "), value[11:22].rstrip(" ")


def build_field_44(issuer_id: str, acquirer_id: str) -> str:
    """Field 44: both ids left-justified, space-padded to 11 characters each."""
    if len(issuer_id) > 11 or len(acquirer_id) > 11:
        raise EncodeError("44.1 and 44.2 are at most 11 characters", field="44")
    return issuer_id.ljust(11) + acquirer_id.ljust(11)


# ------------------------------------------------------------------------------------ 61

_F61: Final = (
    ("orig_batch", 6),
    ("orig_trace", 6),
    ("orig_date", 4),
    ("orig_auth_mode", 2),
    ("orig_auth_institution", 11),
)


@dataclasses.dataclass(frozen=True)
class Field61:
    """Field 61 原始信息域: original batch, trace (STAN), date MMDD, auth mode, institution."""

    orig_batch: str
    orig_trace: str
    orig_date: str | None = None
    orig_auth_mode: str | None = None
    orig_auth_institution: str | None = None


def parse_field_61(value: str) -> Field61:
    """Split field 61 (12 to 29 digits, at sub-field boundaries)."""
    parts: list[str | None] = []
    position = 0
    for _, width in _F61:
        piece = value[position : position + width]
        if piece and len(piece) != width:
            raise DecodeError("field 61 ends inside a sub-field", field="61")
        parts.append(piece or None)
        position += width
    if position < len(value) or parts[0] is None or parts[1] is None:
        raise DecodeError(f"field 61 of {len(value)} digits has no valid layout", field="61")
    return Field61(parts[0], parts[1], parts[2], parts[3], parts[4])


def build_field_61(field: Field61) -> str:
    """The digits of field 61; a sub-field may be None only if every later one is too."""
    out = []
    missing = None
    for attribute, width in _F61:
        piece = getattr(field, attribute)
        if piece is None:
            missing = missing or attribute
            continue
        if missing:
            raise EncodeError(f"{attribute} is given but {missing} is not", field="61")
        out.append(_digits(piece, width, "61", EncodeError))
    return "".join(out)


# ------------------------------------------------------------------------------------ 63


@dataclasses.dataclass(frozen=True)
class Field63:
    """Field 63: 63.1 (operator code in requests, card organisation in responses) + 63.2 text."""

    code: str
    text: str = ""


def parse_field_63(value: str) -> Field63:
    """Split field 63: three characters, then optional free text (GBK on the wire)."""
    return Field63(value[:3], value[3:])


def build_field_63(field: Field63) -> str:
    """Field 63: the 3-character code (space-padded) and the text."""
    if len(field.code) > 3:
        raise EncodeError("63.1 is 3 characters", field="63")
    return field.code.ljust(3) + field.text
