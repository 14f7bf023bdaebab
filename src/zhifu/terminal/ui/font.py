"""The terminal's dot-matrix font: GNU Unifont's 8×16 and 16×16 glyphs (Debian's ``unifont``).

A mini terminal's screen draws ASCII in 8×16 cells and Chinese in 16×16 cells (the HZK16
layout); GNU Unifont has one such glyph for every character of the Basic Multilingual Plane,
GB 2312's 7,445 among them. Debian's package ``unifont`` ships it as ``unifont.hex``: one line
per character, ``CODEPOINT:BITMAP`` in hexadecimal, 32 hex digits for an 8-pixel-wide glyph and
64 for a 16-pixel-wide one, rows from the top, the leftmost pixel in the high bit.

>>> font = UnifontHex.parse(["0041:0000000018242442427E424242420000"])
>>> glyph = font.glyph("A")
>>> glyph.width, format(glyph.rows[4], "08b")
(8, '00011000')
>>> font.glyph("中").width  # not in this one-line font: the replacement box
8
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from zhifu.core.errors import DecodeError, UsageError

__all__ = ["FONT_ENV", "FONT_PATHS", "HEIGHT", "Glyph", "UnifontHex", "default_font"]

HEIGHT: Final = 16
FONT_ENV: Final = "ZHIFU_UNIFONT"
"""An environment variable naming another ``unifont.hex`` to draw with."""
FONT_PATHS: Final = ("/usr/share/unifont/unifont.hex",)
"""Where Debian's ``unifont`` package puts the font."""


@dataclass(frozen=True)
class Glyph:
    """One character's pixels: ``width`` (8 or 16) and 16 rows, the leftmost pixel highest."""

    width: int
    rows: tuple[int, ...]

    def pixel(self, x: int, y: int) -> bool:
        """Whether the pixel at column ``x``, row ``y`` is lit."""
        return bool(self.rows[y] >> (self.width - 1 - x) & 1)


_BOX: Final = Glyph(8, (0, 0, 0x7E, *(0x42,) * 10, 0x7E, 0, 0))
"""What a character the font lacks is drawn as."""


class UnifontHex:
    """The glyphs of a ``.hex`` font, by code point."""

    def __init__(self, glyphs: dict[int, Glyph]) -> None:
        self._glyphs = glyphs

    def __len__(self) -> int:
        return len(self._glyphs)

    def __contains__(self, char: object) -> bool:
        return isinstance(char, str) and len(char) == 1 and ord(char) in self._glyphs

    def glyph(self, char: str) -> Glyph:
        """The glyph of ``char`` (a box when the font has none)."""
        return self._glyphs.get(ord(char), _BOX)

    def width(self, text: str) -> int:
        """The width of ``text`` in pixels."""
        return sum(self.glyph(char).width for char in text)

    @classmethod
    def parse(cls, lines: Iterable[str], source: str = "unifont.hex") -> UnifontHex:
        """Read ``CODEPOINT:BITMAP`` lines; a malformed line is a :class:`DecodeError`."""
        glyphs: dict[int, Glyph] = {}
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not text:
                continue
            point, _, bitmap = text.partition(":")
            try:
                code, bits = int(point, 16), int(bitmap, 16)
            except ValueError:
                raise DecodeError(
                    "not CODE:HEX", field=f"{source} line {number}", offset=0
                ) from None
            if len(bitmap) not in (32, 64):
                raise DecodeError(
                    "a glyph is 32 or 64 hex digits", field=f"{source} line {number}",
                    offset=len(point) + 1,
                )  # fmt: skip
            width = len(bitmap) // 4
            mask = (1 << width) - 1
            rows = tuple(bits >> (width * (HEIGHT - 1 - y)) & mask for y in range(HEIGHT))
            glyphs[code] = Glyph(width, rows)
        return cls(glyphs)

    @classmethod
    def load(cls, path: Path | str) -> UnifontHex:
        """Read a ``.hex`` file."""
        with open(path, encoding="ascii") as lines:
            return cls.parse(lines, source=str(path))


@functools.cache
def default_font() -> UnifontHex:
    """GNU Unifont from ``$ZHIFU_UNIFONT`` or Debian's package (read once per process)."""
    chosen = os.environ.get(FONT_ENV)
    for candidate in (chosen,) if chosen else FONT_PATHS:
        if Path(candidate).is_file():
            return UnifontHex.load(candidate)
    raise UsageError(
        "no terminal font: install Debian's unifont (make deps does) or set " + FONT_ENV,
        argument="font",
    )
