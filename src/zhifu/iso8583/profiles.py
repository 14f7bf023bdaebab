"""Per-acquirer profiles: the choices docs/standards/iso8583-cup.md says vary between UnionPay POS
stacks.

The field dictionary (:mod:`zhifu.iso8583.specs`) is the common ground. A :class:`Profile` changes
only what the digest reports as varying, and only for encoding: the pad nibble of odd-length BCD
fields (``0`` is most common, some stacks use ``F``), the alignment of field 23 (one SD build
flips it), the PIN block size (16 bytes for SM4 terminals), and the maximum lengths acquirers
extend (field 60 beyond 17 digits, field 54 up to 40, larger field 55). Decoding accepts any pad
nibble whatever the profile; the one found is kept so that the message re-encodes byte for byte.

Profiles:

* ``cup`` (the default): the table, with the documented extensions accepted (60 up to 999
  digits, 54 up to 40 bytes, 55 up to 999 bytes) and pad nibble ``0``;
* ``cup-strict``: the table exactly as the digest gives it;
* ``cup-pad-f``: pad nibble ``F`` for fields 2, 32, 35, 36 and 61 (the Java8583 stacks);
* ``cup-sm``: 16-byte PIN block in field 52 (SM4 terminals);
* ``cup-f23-left``: field 23 left-aligned (the SD build that flips it).

>>> get_profile("cup").spec("60").max_len
999
>>> get_profile("cup-strict").spec("60").max_len
17
>>> get_profile("cup-pad-f").spec("35").pad
'F'
>>> get_profile("cup-sm").spec("52").max_len
16
>>> get_profile("nope")    # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: profile: unknown profile 'nope' (cup, cup-strict, ...)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cached_property
from typing import Final, NotRequired, TypedDict

from zhifu.core.errors import UsageError
from zhifu.iso8583.specs import FIELDS, Align, FieldSpec

__all__ = [
    "CUP",
    "CUP_F23_LEFT",
    "CUP_PAD_F",
    "CUP_SM",
    "CUP_STRICT",
    "DEFAULT_PROFILE",
    "DIGITS",
    "ODD_FIXED",
    "PASS",
    "PROFILES",
    "TRACK",
    "Profile",
    "get_profile",
]


class PyisoField(TypedDict):
    """One field of a pyiso8583 spec (the keys its module docstring defines)."""

    data_enc: str
    len_enc: str
    len_type: int
    max_len: int
    desc: str
    len_count: NotRequired[str]
    left_pad: NotRequired[str]
    right_pad: NotRequired[str]


PyisoSpec = dict[str, PyisoField]

PASS, DIGITS, ODD_FIXED, TRACK = 0, 1, 2, 3
"""Codec plans: text/binary as is; digits checked; odd-length fixed BCD (22, 23); track data."""


@dataclasses.dataclass(frozen=True, eq=False)
class Profile:
    """One acquirer's reading of the dictionary: overrides by field number.

    ``pads`` gives the pad nibble per field, ``aligns`` the BCD alignment, ``max_lens`` the
    maximum length (digits or bytes, as in the table; for a fixed field its size).
    """

    name: str
    description: str
    pads: Mapping[str, str] = dataclasses.field(default_factory=dict)
    aligns: Mapping[str, Align] = dataclasses.field(default_factory=dict)
    max_lens: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in (self.pads, self.aligns, self.max_lens):
            unknown = set(table) - set(FIELDS)
            if unknown:
                raise UsageError(f"unknown fields {sorted(unknown)}", argument="profile")
        if any(len(p) != 1 or p not in "0123456789ABCDEF" for p in self.pads.values()):
            raise UsageError("a pad nibble is one of 0-9 or A-F", argument="pads")

    @cached_property
    def specs(self) -> dict[str, FieldSpec]:
        """The effective field specs of this profile, by number."""
        result = {}
        for number, base in FIELDS.items():
            overridden = number in self.pads or number in self.aligns or number in self.max_lens
            result[number] = base
            if overridden:
                result[number] = dataclasses.replace(
                    base,
                    pad=self.pads.get(number, base.pad),
                    align=self.aligns.get(number, base.align),
                    max_len=self.max_lens.get(number, base.max_len),
                )
        return result

    def spec(self, number: str) -> FieldSpec:
        """The effective spec of one field (KeyError if the dialect does not use it)."""
        return self.specs[number]

    @cached_property
    def allowed_mask(self) -> int:
        """The primary bitmap bits (as an int, bit 1 = most significant) this profile allows."""
        mask = 0
        for number in self.specs:
            mask |= 1 << (64 - int(number))
        return mask

    @cached_property
    def plan(self) -> dict[str, int]:
        """What the codec does with each field beyond pyiso8583: PASS, DIGITS, ODD_FIXED, TRACK."""
        kinds = {}
        for number, spec in self.specs.items():
            if not spec.is_bcd:
                kinds[number] = PASS
            elif spec.length_type == "fixed" and spec.max_len & 1:
                kinds[number] = ODD_FIXED
            else:
                kinds[number] = DIGITS if spec.fmt == "n" else TRACK
        return kinds

    @cached_property
    def numbers(self) -> frozenset[str]:
        """The field numbers this profile knows."""
        return frozenset(self.specs)

    @cached_property
    def digit_numbers(self) -> frozenset[str]:
        """Numeric fields checked for digits as they are (every ``n`` field but 22/23)."""
        return frozenset(n for n, kind in self.plan.items() if kind == DIGITS)

    @cached_property
    def numeric_numbers(self) -> frozenset[str]:
        """Every ``n`` field (the digit fields and 22/23)."""
        return frozenset(n for n, kind in self.plan.items() if kind in (DIGITS, ODD_FIXED))

    @cached_property
    def odd_fixed_numbers(self) -> frozenset[str]:
        """Odd-length fixed BCD fields (22, 23), padded and unpadded by the codec."""
        return frozenset(n for n, kind in self.plan.items() if kind == ODD_FIXED)

    @cached_property
    def special_numbers(self) -> frozenset[str]:
        """Fields the codec transforms: odd-length fixed BCD (22, 23) and tracks (35, 36)."""
        return frozenset(n for n, kind in self.plan.items() if kind in (ODD_FIXED, TRACK))

    @cached_property
    def default_spec(self) -> PyisoSpec:
        """The pyiso8583 spec with the profile's own pad nibbles."""
        return self.pyiso_spec()

    def pyiso_spec(self, pads: Mapping[str, str] | None = None) -> PyisoSpec:
        """The pyiso8583 spec dict of this profile, with pad overrides (cached per variant)."""
        key = tuple(sorted(pads.items())) if pads else ()
        cache = self._pyiso_cache
        spec = cache.get(key)
        if spec is None:
            spec = _build_pyiso_spec(self.specs, dict(key))
            if len(cache) < 256:
                cache[key] = spec
        return spec

    @cached_property
    def _pyiso_cache(self) -> dict[tuple[tuple[str, str], ...], PyisoSpec]:
        return {}


def _frame_part(size: int, desc: str) -> PyisoField:
    return {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": size, "desc": desc}


def _pyiso_field(spec: FieldSpec, pad: str) -> PyisoField:
    """The pyiso8583 field spec of one dialect field.

    Fixed BCD fields are handled as binary (their odd-length padding is done by the codec);
    variable BCD fields count nibbles and let pyiso8583 add and strip the pad nibble.
    """
    length_type = spec.prefix_bytes
    field: PyisoField = {
        "data_enc": (spec.charset or "ascii") if spec.is_text else "b",
        "len_enc": "bcd" if length_type else "b",
        "len_type": length_type,
        "max_len": spec.max_len,
        "desc": spec.name_en,
    }
    if spec.is_bcd and length_type:
        field["len_count"] = "nibbles"
        if spec.align == "left":
            field["right_pad"] = pad
        else:
            field["left_pad"] = pad
    elif spec.is_bcd:
        field["max_len"] = (spec.max_len + 1) // 2
    return field


def _build_pyiso_spec(specs: Mapping[str, FieldSpec], pads: Mapping[str, str]) -> PyisoSpec:
    result: PyisoSpec = {
        "h": _frame_part(0, "no header: TPDU and header are framing"),
        "t": _frame_part(2, "message type indicator (BCD)"),
        "p": _frame_part(8, "primary bitmap"),
        "1": _frame_part(8, "secondary bitmap (not used)"),
    }
    for number, spec in specs.items():
        result[number] = _pyiso_field(spec, pads.get(number, spec.pad))
    return result


_EXTENDED = {"60": 999, "54": 40, "55": 999}
_PAD_F_FIELDS = ("2", "32", "35", "36", "61")

CUP: Final = Profile(
    "cup", "UnionPay POS, pad 0, documented extensions accepted (60, 54, 55)", max_lens=_EXTENDED
)
CUP_STRICT: Final = Profile("cup-strict", "UnionPay POS, the digest's table exactly")
CUP_PAD_F: Final = Profile(
    "cup-pad-f",
    "pad nibble F for fields 2, 32, 35, 36, 61 (Java8583-style stacks)",
    pads=dict.fromkeys(_PAD_F_FIELDS, "F"),
    max_lens=_EXTENDED,
)
CUP_SM: Final = Profile(
    "cup-sm", "SM4 terminals: 16-byte PIN block in field 52", max_lens={**_EXTENDED, "52": 16}
)
CUP_F23_LEFT: Final = Profile(
    "cup-f23-left", "field 23 left-aligned (an SD build)", aligns={"23": "left"}, max_lens=_EXTENDED
)

PROFILES: Final[dict[str, Profile]] = {
    p.name: p for p in (CUP, CUP_STRICT, CUP_PAD_F, CUP_SM, CUP_F23_LEFT)
}
DEFAULT_PROFILE: Final = CUP


def get_profile(profile: str | Profile | None = None) -> Profile:
    """A profile by name (or the default for None); a :class:`Profile` is returned as is."""
    if profile is None:
        return DEFAULT_PROFILE
    if isinstance(profile, Profile):
        return profile
    found = PROFILES.get(profile)
    if found is None:
        names = ", ".join(PROFILES)
        raise UsageError(f"unknown profile {profile!r} ({names})", argument="profile")
    return found
