"""Magnetic-stripe tracks: ISO/IEC 7813 tracks 1 and 2, ISO/IEC 4909 track 3, ISO/IEC 7811 LRC.

Facts: docs/standards/card-terminal.md §4. Track 1 uses the 6-bit set ``0x20``-``0x5F`` with ``%``,
``^``, ``?``; tracks 2 and 3 the 4-bit set ``0``-``?`` with ``;``, ``=``, ``?``. The LRC is
the XOR of the character values (parity excluded) from start to end sentinel; it is written
as one more character of the set. Recorded lengths (sentinels and LRC included) are at most
79, 40 and 107 characters. The EMV track 2 equivalent (tag 57, ISO 8583 field 35) packs the
track 2 characters as nibbles with ``D`` for ``=`` and an ``F`` pad.

Malformed tracks raise :class:`TrackError` (a DecodeError) with the field and character
offset; representations mask the PAN and hide the name and discretionary data.

>>> t2 = Track2("6228000100001117", "3012", "201", "0123456789")
>>> t2.encode()
';6228000100001117=30122010123456789?2'
>>> Track2.decode(t2.encode()) == t2
True
>>> t2
Track2(pan='622800******1117', expiry='3012', service_code='201', discretionary=<10 chars>)
>>> track2_equivalent_encode(t2).hex().upper()
'6228000100001117D30122010123456789'
>>> Track1.decode("%B6228000100001117^ZHANG/SAN^3012201000?").service_code
'201'
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar, Final, Literal, NamedTuple, Self

from zhifu.codec.pan import SERVICE_CODE_DIGITS, describe_service_code, mask_pan
from zhifu.core.errors import DecodeError, UsageError

__all__ = [
    "SERVICE_CODE_DIGITS",
    "TRACK1_LAYOUT",
    "TRACK2_LAYOUT",
    "TRACK3_LAYOUT",
    "Track1",
    "Track2",
    "Track3",
    "TrackError",
    "TrackField",
    "describe_service_code",
    "from_codes",
    "lrc",
    "to_codes",
    "track2_equivalent_decode",
    "track2_equivalent_encode",
]


class TrackError(DecodeError):
    """A magnetic-stripe track (or track 2 equivalent) is malformed."""


# ------------------------------------------------------------------------ character sets, LRC


@dataclass(frozen=True)
class _Charset:
    base: int
    bits: int
    start: str
    sep: str
    end: str
    max_len: int

    def contains(self, char: str) -> bool:
        return self.base <= ord(char) < self.base + (1 << self.bits)


_SETS: Final = {
    1: _Charset(0x20, 6, "%", "^", "?", 79),
    2: _Charset(0x30, 4, ";", "=", "?", 40),
    3: _Charset(0x30, 4, ";", "=", "?", 107),
}


def _charset(text: str, track: int) -> _Charset:
    if track not in _SETS:
        raise UsageError("must be 1, 2 or 3", argument="track")
    if not all(_SETS[track].contains(c) for c in text):
        raise UsageError("has characters outside the track character set", argument="text")
    return _SETS[track]


def lrc(text: str, track: int = 2) -> str:
    """The LRC character of ``text`` (start sentinel to end sentinel inclusive).

    >>> lrc(";0124?"), lrc("%AT3?", track=1)        # MagTek TTL manual, section 3 / page 4
    ('3', '<')
    """
    cs = _charset(text, track)
    value = 0
    for char in text:
        value ^= ord(char) - cs.base
    return chr(cs.base + value)


def _parity(value: int, bits: int) -> int:
    """The odd-parity bit placed above ``bits`` data bits."""
    return (0 if value.bit_count() % 2 else 1) << bits


def to_codes(text: str, track: int = 2) -> bytes:
    """The recorded characters: each byte holds the data bits and the odd-parity bit on top.

    >>> to_codes("%AT3?<", track=1).hex().upper()   # MagTek TTL manual, page 4
    '456134131F1C'
    """
    cs = _charset(text, track)
    return bytes((v := ord(c) - cs.base) | _parity(v, cs.bits) for c in text)


def from_codes(codes: bytes, track: int = 2) -> str:
    """Characters from recorded codes; a wrong parity bit raises TrackError."""
    cs = _charset("", track)
    mask = (1 << cs.bits) - 1
    out = []
    for i, code in enumerate(bytes(codes)):
        value = code & mask
        if code >> (cs.bits + 1) or code != value | _parity(value, cs.bits):
            raise TrackError("parity error", field="parity", offset=i)
        out.append(chr(cs.base + value))
    return "".join(out)


# ------------------------------------------------------------------------ framing


def _unframe(text: str, cs: _Charset, with_sentinels: bool, with_lrc: bool | None) -> str:
    """The data between the sentinels, after checking the frame and the LRC."""
    if not isinstance(text, str):
        raise TrackError("a track is text", field="track", offset=0)
    if len(text) > cs.max_len:  # a first bound before looking at the characters
        raise TrackError(f"longer than {cs.max_len} characters", field="track", offset=0)
    bad = next((i for i, c in enumerate(text) if not cs.contains(c)), None)
    if bad is not None:
        raise TrackError("character outside the track set", field="track", offset=bad)
    if not with_sentinels:
        _no_controls(text, 0, (cs.start, cs.end))
        return _within(text, cs)
    if not text.startswith(cs.start):
        raise TrackError("missing start sentinel", field="start sentinel", offset=0)
    end = text.find(cs.end)
    if end < 0:
        raise TrackError("missing end sentinel", field="end sentinel", offset=len(text))
    _no_controls(text[: end + 1], 1, (cs.start,))
    tail = text[end + 1 :]
    if len(tail) > 1:
        raise TrackError("characters after the LRC", field="LRC", offset=end + 2)
    if with_lrc and not tail:
        raise TrackError("missing LRC", field="LRC", offset=end + 1)
    if with_lrc is False and tail:
        raise TrackError("unexpected LRC", field="LRC", offset=end + 1)
    if tail and tail != lrc(text[: end + 1], 1 if cs.bits == 6 else 2):
        raise TrackError("LRC mismatch", field="LRC", offset=end + 1)
    return _within(text[1:end], cs)


def _within(data: str, cs: _Charset) -> str:
    """``data`` if with sentinels and LRC it fits the track's recorded length."""
    if len(data) + 3 > cs.max_len:
        raise TrackError(f"longer than {cs.max_len} characters", field="track", offset=0)
    return data


def _no_controls(text: str, first: int, controls: tuple[str, ...]) -> None:
    bad = next((i for i, c in enumerate(text) if i >= first and c in controls), None)
    if bad is not None:
        raise TrackError("misplaced sentinel", field="track", offset=bad)


def _frame(data: str, track: int, with_sentinels: bool, with_lrc: bool) -> str:
    if not with_sentinels:
        return data
    cs = _SETS[track]
    framed = cs.start + data + cs.end
    return framed + lrc(framed, track) if with_lrc else framed


# ------------------------------------------------------------------------ layouts

_Kind = Literal["fixed", "optional", "variable", "rest"]
_T1_TEXT: Final = frozenset(chr(c) for c in range(0x20, 0x60)) - {"%", "^", "?"}


class TrackField(NamedTuple):
    """One field of a track layout.

    ``fixed`` fields have exactly ``hi`` characters; ``optional`` ones too, or a field
    separator when absent (``None``); ``variable`` ones ``lo``..``hi`` characters then a
    separator; ``rest`` takes what is left. Digits only unless ``text`` (track 1 characters).
    """

    name: str
    lo: int
    hi: int
    kind: _Kind
    text: bool = False


def _problem(spec: TrackField, value: object) -> str | None:
    if value is None:
        return None if spec.kind == "optional" else "is required"
    if not isinstance(value, str):
        return "must be text"
    if not spec.lo <= len(value) <= spec.hi:
        return f"must have {spec.lo} to {spec.hi} characters, not {len(value)}"
    if spec.text:
        return None if all(c in _T1_TEXT for c in value) else "has characters not allowed"
    return None if not value or (value.isascii() and value.isdigit()) else "must be digits"


def _read(data: str, pos: int, spec: TrackField, sep: str, origin: int) -> tuple[str | None, int]:
    """Read one field at ``pos``; return it and the position after it (and its separator)."""
    if spec.kind == "optional" and data[pos : pos + 1] == sep:
        return None, pos + 1
    if spec.kind in ("fixed", "optional"):
        value, after = data[pos : pos + spec.hi], pos + spec.hi
    elif spec.kind == "variable":
        end = data.find(sep, pos)
        if end < 0:
            raise TrackError("missing field separator", field=spec.name, offset=origin + len(data))
        value, after = data[pos:end], end + 1
    else:
        value, after = data[pos:], len(data)
    problem = _problem(spec, value)
    if problem:
        raise TrackError(problem, field=spec.name, offset=origin + pos)
    return value, after


def _spec(lo: int, hi: int, kind: _Kind, *, text: bool = False) -> dict[str, TrackField]:
    return {"spec": TrackField("", lo, hi, kind, text)}


def _layout_of(cls: type[_Track]) -> tuple[TrackField, ...]:
    return tuple(f.metadata["spec"]._replace(name=f.name) for f in fields(cls))


@dataclass(frozen=True, repr=False)
class _Track:
    """Validation, encoding, decoding and a masked repr driven by the class's layout."""

    _track: ClassVar[int]
    _prefix: ClassVar[str] = ""
    _shown: ClassVar[frozenset[str]] = frozenset({"expiry", "service_code"})

    def __post_init__(self) -> None:
        for spec in _layout_of(type(self)):
            problem = _problem(spec, getattr(self, spec.name))
            if problem:
                raise UsageError(problem, argument=spec.name)
        most = _SETS[self._track].max_len
        if len(self.data()) + 3 > most:
            raise UsageError(f"longer than {most} characters", argument="track")

    def data(self) -> str:
        """The characters between the sentinels."""
        sep = _SETS[self._track].sep
        parts = [self._prefix]
        for spec in _layout_of(type(self)):
            value = getattr(self, spec.name)
            parts.append(sep if value is None else value + (sep * (spec.kind == "variable")))
        return "".join(parts)

    def encode(self, with_sentinels: bool = True, with_lrc: bool = True) -> str:
        """The track text, by default with sentinels and LRC."""
        return _frame(self.data(), self._track, with_sentinels, with_lrc)

    @classmethod
    def decode(
        cls, text: str, *, with_sentinels: bool = True, with_lrc: bool | None = None
    ) -> Self:
        """Parse track text; ``with_lrc=None`` checks the LRC when one is present."""
        cs = _SETS[cls._track]
        data = _unframe(text, cs, with_sentinels, with_lrc)
        origin = 1 if with_sentinels else 0
        if not data.startswith(cls._prefix):
            raise TrackError(
                f"format code must be {cls._prefix}", field="format_code", offset=origin
            )
        pos = len(cls._prefix)
        values: dict[str, str | None] = {}
        for spec in _layout_of(cls):
            values[spec.name], pos = _read(data, pos, spec, cs.sep, origin)
        try:
            return cls(**values)
        except UsageError as error:
            raise TrackError(error.message, field=error.argument) from None

    def __repr__(self) -> str:
        parts = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "pan":
                parts.append(f"pan={mask_pan(value)!r}")
            elif item.name in self._shown or value is None:
                parts.append(f"{item.name}={value!r}")
            else:
                parts.append(f"{item.name}=<{len(value)} chars>")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class Track1(_Track):
    """ISO/IEC 7813 track 1 format B: ``%B PAN ^ NAME ^ YYMM SVC discretionary ?LRC``.

    An absent expiry or service code is recorded as a field separator ``^``.
    """

    pan: str = field(metadata=_spec(1, 19, "variable"))
    name: str = field(metadata=_spec(2, 26, "variable", text=True))
    expiry: str | None = field(default=None, metadata=_spec(4, 4, "optional"))
    service_code: str | None = field(default=None, metadata=_spec(3, 3, "optional"))
    discretionary: str = field(default="", metadata=_spec(0, 79, "rest", text=True))
    _track: ClassVar[int] = 1
    _prefix: ClassVar[str] = "B"


@dataclass(frozen=True, repr=False)
class Track2(_Track):
    """ISO/IEC 7813 track 2: ``;PAN=YYMM SVC discretionary?LRC`` (absent fields become ``=``)."""

    pan: str = field(metadata=_spec(1, 19, "variable"))
    expiry: str | None = field(default=None, metadata=_spec(4, 4, "optional"))
    service_code: str | None = field(default=None, metadata=_spec(3, 3, "optional"))
    discretionary: str = field(default="", metadata=_spec(0, 40, "rest"))
    _track: ClassVar[int] = 2


@dataclass(frozen=True, repr=False)
class Track3(_Track):
    """ISO/IEC 4909 track 3, fields 2 to 27 in order (docs/standards/card-terminal.md §4 [K]); digit
    strings.

    The country code is deprecated since the 2006 edition (recorded as a separator).
    """

    format_code: str = field(metadata=_spec(2, 2, "fixed"))
    pan: str = field(metadata=_spec(0, 19, "variable"))
    country_code: str | None = field(default=None, metadata=_spec(3, 3, "optional"))
    currency_code: str = field(default="000", metadata=_spec(3, 3, "fixed"))
    currency_exponent: str = field(default="0", metadata=_spec(1, 1, "fixed"))
    amount_per_cycle: str = field(default="0000", metadata=_spec(4, 4, "fixed"))
    amount_remaining: str = field(default="0000", metadata=_spec(4, 4, "fixed"))
    cycle_begin: str = field(default="0000", metadata=_spec(4, 4, "fixed"))
    cycle_length: str = field(default="00", metadata=_spec(2, 2, "fixed"))
    retry_count: str = field(default="0", metadata=_spec(1, 1, "fixed"))
    pin_parameters: str | None = field(default=None, metadata=_spec(6, 6, "optional"))
    interchange_control: str = field(default="0", metadata=_spec(1, 1, "fixed"))
    pan_service_restriction: str = field(default="00", metadata=_spec(2, 2, "fixed"))
    san1_service_restriction: str = field(default="00", metadata=_spec(2, 2, "fixed"))
    san2_service_restriction: str = field(default="00", metadata=_spec(2, 2, "fixed"))
    expiry: str | None = field(default=None, metadata=_spec(4, 4, "optional"))
    card_sequence_number: str = field(default="0", metadata=_spec(1, 1, "fixed"))
    card_security_number: str | None = field(default=None, metadata=_spec(9, 9, "optional"))
    san1: str = field(default="", metadata=_spec(0, 19, "variable"))
    san2: str = field(default="", metadata=_spec(0, 19, "variable"))
    relay_marker: str = field(default="0", metadata=_spec(1, 1, "fixed"))
    crypto_check_digits: str = field(default="000000", metadata=_spec(6, 6, "fixed"))
    additional_data: str = field(default="", metadata=_spec(0, 104, "rest"))
    _track: ClassVar[int] = 3
    _shown: ClassVar[frozenset[str]] = frozenset({"format_code", "currency_code", "expiry"})


# The layouts as data: one TrackField per recorded field, in order.
TRACK1_LAYOUT: Final = _layout_of(Track1)
TRACK2_LAYOUT: Final = _layout_of(Track2)
TRACK3_LAYOUT: Final = _layout_of(Track3)


# ------------------------------------------------------------------------ track 2 equivalent


def track2_equivalent_encode(track: Track2) -> bytes:
    """Tag 57 / field 35 bytes: track 2 data as nibbles, ``D`` separators, ``F`` pad."""
    nibbles = track.data().replace("=", "D")
    return bytes.fromhex(nibbles + "F" * (len(nibbles) % 2))


def track2_equivalent_decode(data: bytes | str) -> Track2:
    """Parse tag 57 bytes, or their hex text (ISO 8583 field 35 with ``D``); offsets count
    bytes for bytes and characters for text."""
    per_offset = 1 if isinstance(data, str) else 2
    text = data.upper() if isinstance(data, str) else bytes(data).hex().upper()
    if len(text) > 38:
        raise TrackError("longer than 19 bytes", field="track2", offset=38 // per_offset)
    if text.endswith("F"):
        text = text[:-1]
    bad = next((i for i, c in enumerate(text) if c not in "0123456789D"), None)
    if bad is not None:
        raise TrackError("not a digit or D", field="track2", offset=bad // per_offset)
    return Track2.decode(text.replace("D", "="), with_sentinels=False)
