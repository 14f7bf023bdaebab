"""The terminal's monochrome screen: 128×64 (or 192×64) pixels, four lines of 16-pixel text.

Text is drawn from the dot-matrix font (:mod:`zhifu.terminal.ui.font`): ASCII 8 pixels wide,
Chinese 16, so a 128-pixel line holds 16 ASCII characters or 8 Chinese ones. The pixels save as
a 1-bit PNG, and print in a text terminal as half blocks (``▀ ▄ █``, two pixel rows per text
row) — which :meth:`Screen.from_blocks` reads back, so a test of the shell can compare what a
pseudo-terminal received with a screen drawn here.

>>> from zhifu.terminal.ui.font import UnifontHex
>>> font = UnifontHex.parse(["0031:000000000818280808080808083E0000"])
>>> screen = Screen(font=font)
>>> screen.line(0, "1", align="center")
>>> screen.lines[0], screen.pixel(64, 4), screen.pixel(0, 4)
('1', True, False)
>>> Screen.from_blocks(screen.blocks(), font=font) == screen
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

from zhifu.core.errors import DecodeError, UsageError
from zhifu.terminal.ui.font import HEIGHT, UnifontHex, default_font

__all__ = ["BLOCKS", "LINES", "SIZES", "Align", "Screen"]

SIZES: Final = ((128, 64), (192, 64))
"""The screens a mini terminal has (width, height in pixels)."""
LINES: Final = 4
BLOCKS: Final = " ▀▄█"
"""Two vertically stacked pixels as one character: none, upper, lower, both."""
Align = Literal["left", "center", "right"]


class Screen:
    """A pixel buffer with the text of each line it shows."""

    def __init__(self, width: int = 128, height: int = 64, *, font: UnifontHex | None = None):
        if (width, height) not in SIZES:
            raise UsageError("a screen of 128x64 or 192x64 pixels", argument="screen")
        self.width, self.height = width, height
        self.font = font if font is not None else default_font()
        self._pixels = bytearray(width * height)
        self.lines: list[str] = [""] * LINES

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Screen):
            return NotImplemented
        return (self.width, self.height, self._pixels) == (other.width, other.height, other._pixels)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Screen({self.width}x{self.height}, {self.lines!r})"

    def copy(self) -> Screen:
        """A screen with the same pixels and lines, to keep while this one changes."""
        twin = Screen(self.width, self.height, font=self.font)
        twin._pixels[:], twin.lines = self._pixels, list(self.lines)
        return twin

    def pixel(self, x: int, y: int) -> bool:
        """Whether the pixel at column ``x``, row ``y`` is lit."""
        return bool(self._pixels[y * self.width + x])

    def pixels(self) -> bytes:
        """Every pixel, row by row, one byte each (0 or 1)."""
        return bytes(self._pixels)

    def clear(self) -> None:
        """Blank the screen."""
        self._pixels[:] = bytes(len(self._pixels))
        self.lines = [""] * LINES

    def text(self, x: int, y: int, text: str, *, invert: bool = False) -> None:
        """Draw ``text`` with its top left corner at (``x``, ``y``); what overflows is cut."""
        for char in text:
            glyph = self.font.glyph(char)
            for row in range(HEIGHT):
                if not 0 <= y + row < self.height:
                    continue
                for column in range(glyph.width):
                    if 0 <= x + column < self.width:
                        lit = glyph.pixel(column, row) != invert
                        self._pixels[(y + row) * self.width + x + column] = lit
            x += glyph.width

    def line(self, number: int, text: str, *, align: Align = "left", invert: bool = False) -> None:
        """Replace line ``number`` (0 to 3) with ``text``; ``invert`` draws it highlighted."""
        if not 0 <= number < LINES:
            raise UsageError("a line from 0 to 3", argument="line")
        y = number * HEIGHT
        start = y * self.width
        self._pixels[start : start + HEIGHT * self.width] = bytes([invert]) * HEIGHT * self.width
        width = self.font.width(text)
        x = {"left": 0, "center": (self.width - width) // 2, "right": self.width - width}[align]
        self.text(max(x, 0), y, text, invert=invert)
        self.lines[number] = text

    def show(self, texts: Sequence[str], *, align: Align = "left") -> None:
        """Clear, then the given lines from the top."""
        self.clear()
        for number, text in enumerate(texts[:LINES]):
            self.line(number, text, align=align)

    # ------------------------------------------------------------------ output

    def blocks(self) -> list[str]:
        """The screen as ``height / 2`` text rows of half blocks."""
        rows = []
        for y in range(0, self.height, 2):
            top = self._pixels[y * self.width : (y + 1) * self.width]
            bottom = self._pixels[(y + 1) * self.width : (y + 2) * self.width]
            rows.append("".join(BLOCKS[a | b << 1] for a, b in zip(top, bottom, strict=True)))
        return rows

    @classmethod
    def from_blocks(cls, rows: Sequence[str], *, font: UnifontHex | None = None) -> Screen:
        """The screen whose :meth:`blocks` are ``rows`` (its line texts are not known)."""
        width = len(rows[0]) if rows else 0
        screen = cls(width, len(rows) * 2, font=font)
        for number, row in enumerate(rows):
            if len(row) != width:
                raise DecodeError(f"a row of {width} blocks", field=f"row {number}", offset=0)
            for x, char in enumerate(row):
                value = BLOCKS.find(char)
                if value < 0:
                    raise DecodeError("not a half block", field=f"row {number}", offset=x)
                screen._pixels[2 * number * width + x] = value & 1
                screen._pixels[(2 * number + 1) * width + x] = value >> 1
        return screen

    def png(self, out: Path | str, *, scale: int = 1) -> Path:
        """Save as a 1-bit PNG, lit pixels black on white, each pixel ``scale`` × ``scale``."""
        from PIL import Image  # noqa: PLC0415 - only when a PNG is asked for

        image = Image.frombytes("L", (self.width, self.height), self._image_bytes()).convert("1")
        if scale > 1:
            size = (self.width * scale, self.height * scale)
            image = image.resize(size, Image.Resampling.NEAREST)
        path = Path(out)
        image.save(path, format="PNG")
        return path

    def _image_bytes(self) -> bytes:
        return bytes(0 if lit else 255 for lit in self._pixels)

    @classmethod
    def from_png(cls, path: Path | str, *, font: UnifontHex | None = None) -> Screen:
        """The screen a :meth:`png` file (at scale 1) holds."""
        from PIL import Image  # noqa: PLC0415 - only when a PNG is read

        with Image.open(path) as image:
            gray = image.convert("L")
            screen = cls(gray.width, gray.height, font=font)
            screen._pixels[:] = bytes(1 if value < 128 else 0 for value in gray.tobytes())
        return screen
