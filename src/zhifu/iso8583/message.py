"""The decoded form of a UnionPay POS message: an MTI and field values as strings.

Field values follow one rule: numeric fields (``n``) are digit strings, track fields (``z``) are
their nibbles (``D`` for the ``=`` separator), text fields are text, binary fields are upper-case
hex. Keys are field numbers as strings (``"2"``, ``"39"``), as inside every ISO 8583 codec.

``pads`` keeps the pad nibble of an odd-length BCD field when it differs from the profile's, so
that a decoded message re-encodes to the very same bytes.

A message never prints its values: its ``repr`` names the MTI and the fields present only.

>>> msg = Message("0200", {"2": "6225881234566789", "4": "000000000100", "64": "00" * 8})
>>> msg
Message(mti='0200', fields=[2, 4, 64])
>>> msg.bitmap
'5000000000000001'
>>> msg["4"], msg.get("39"), "64" in msg
('000000000100', None, True)
>>> msg.replace({"39": "00", "64": None})
Message(mti='0200', fields=[2, 4, 39])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

__all__ = ["Message", "bitmap_of", "numbers_in_bitmap"]


@dataclasses.dataclass
class Message:
    """An ISO 8583 message: MTI, fields by number (strings), pad nibbles kept from decoding."""

    mti: str
    fields: dict[str, str] = dataclasses.field(default_factory=dict)
    pads: dict[str, str] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Message(mti={self.mti!r}, fields={self.numbers})"

    def __getitem__(self, number: str) -> str:
        return self.fields[number]

    def __contains__(self, number: object) -> bool:
        return number in self.fields

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.fields, key=int))

    def get(self, number: str, default: str | None = None) -> str | None:
        """The value of a field, or ``default``."""
        return self.fields.get(number, default)

    @property
    def numbers(self) -> list[int]:
        """The field numbers present, ascending."""
        return sorted(int(n) for n in self.fields)

    @property
    def bitmap(self) -> str:
        """The primary bitmap as 16 upper-case hex digits."""
        return bitmap_of(self.fields)

    def replace(self, updates: Mapping[str, str | None], *, mti: str | None = None) -> Message:
        """A copy with fields set (or removed, for None) and optionally another MTI."""
        fields = dict(self.fields)
        pads = dict(self.pads)
        for number, value in updates.items():
            pads.pop(number, None)
            if value is None:
                fields.pop(number, None)
            else:
                fields[number] = value
        return Message(self.mti if mti is None else mti, fields, pads)

    def copy(self) -> Message:
        """A copy that shares nothing mutable with this message."""
        return Message(self.mti, dict(self.fields), dict(self.pads))


def bitmap_of(numbers: Mapping[str, object] | list[int]) -> str:
    """The primary bitmap (hex) of the given field numbers (1-64)."""
    value = 0
    for number in numbers:
        value |= 1 << (64 - int(number))
    return f"{value:016X}"


def numbers_in_bitmap(bitmap: bytes) -> list[int]:
    """The field numbers a primary bitmap (8 bytes) marks present.

    >>> numbers_in_bitmap(bytes.fromhex("0020000000C00016"))
    [11, 41, 42, 60, 62, 63]
    """
    value = int.from_bytes(bitmap, "big")
    return [n for n in range(1, 65) if value >> (64 - n) & 1]
