"""The terminal's screen: GNU Unifont covers GB 2312, text lands on the right pixels, a drawn
screen equals the PNG stored beside this test, and the half-block form reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhifu.core.errors import DecodeError, UsageError
from zhifu.terminal.ui.font import HEIGHT, UnifontHex, default_font
from zhifu.terminal.ui.screen import BLOCKS, Screen

SCREENS = Path(__file__).parent / "screens"


def _gb2312() -> list[str]:
    """Every character GB 2312 encodes in its 94×94 double-byte area."""
    chars = []
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def test_the_font_has_every_gb2312_character_at_16_by_16() -> None:
    chars = _gb2312()
    assert len(chars) == 7445  # 6,763 hanzi and 682 other symbols
    font = default_font()
    hanzi = [c for c in chars if "\u4e00" <= c <= "\u9fff"]
    assert len(hanzi) == 6763
    assert all(c in font for c in chars)
    assert {font.glyph(c).width for c in hanzi} == {16}
    assert {font.glyph(c).width for c in map(chr, range(0x20, 0x7F))} == {8}


def test_text_lands_on_the_glyphs_pixels() -> None:
    screen = Screen()
    screen.text(3, 5, "中")
    glyph = default_font().glyph("中")
    for y in range(HEIGHT):
        for x in range(16):
            assert screen.pixel(3 + x, 5 + y) == glyph.pixel(x, y)
    assert sum(screen.pixels()) == sum(bin(row).count("1") for row in glyph.rows)


def test_a_highlighted_line_is_inverted_and_a_line_cuts_what_overflows() -> None:
    screen = Screen()
    screen.line(1, "消费", invert=True)
    plain = Screen()
    plain.line(1, "消费")
    band = slice(16 * 128, 32 * 128)
    assert all(a != b for a, b in zip(screen.pixels()[band], plain.pixels()[band], strict=True))
    long = Screen()
    long.line(0, "请插卡或挥卡或刷卡或扫码")  # 12 hanzi: 192 pixels on a 128-pixel line
    assert long.lines[0] == "请插卡或挥卡或刷卡或扫码" and sum(long.pixels()[16 * 128 :]) == 0


def _purchase_pin(width: int) -> Screen:
    screen = Screen(width)
    screen.line(0, "消费", align="center")
    screen.line(1, "金额 12.34")
    screen.line(2, "请输入密码:")
    screen.line(3, "****", align="center")
    return screen


@pytest.mark.parametrize("width", [128, 192])
def test_a_drawn_screen_equals_the_stored_png(width: int, tmp_path: Path) -> None:
    stored = SCREENS / f"purchase-pin-{width}.png"
    expected = Screen.from_png(stored)
    assert (expected.width, expected.height) == (width, 64)
    drawn = _purchase_pin(width)
    assert drawn == expected
    other = _purchase_pin(width)
    other.line(3, "*****", align="center")  # one more digit typed: a different picture
    assert other != expected
    assert Screen.from_png(drawn.png(tmp_path / "again.png")) == drawn
    big = _image_size(drawn.png(tmp_path / "big.png", scale=4))
    assert big == (width * 4, 256)


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image  # noqa: PLC0415

    with Image.open(path) as image:
        return image.size


def test_the_half_blocks_read_back_and_bad_rows_are_refused() -> None:
    screen = _purchase_pin(128)
    rows = screen.blocks()
    assert len(rows) == 32 and {len(r) for r in rows} == {128} and set("".join(rows)) <= set(BLOCKS)
    assert Screen.from_blocks(rows) == screen
    with pytest.raises(DecodeError, match="row 3"):
        Screen.from_blocks([*rows[:3], rows[3][:-1] + "x", *rows[4:]])
    with pytest.raises(DecodeError, match="row 5"):
        Screen.from_blocks([*rows[:5], rows[5][:-1], *rows[6:]])


def test_sizes_and_fonts_are_checked() -> None:
    with pytest.raises(UsageError, match="128x64"):
        Screen(160, 64)
    with pytest.raises(DecodeError, match="line 2"):
        UnifontHex.parse(["0041:0000000018242442427E424242420000", "0042:12"])
    with pytest.raises(DecodeError, match="line 1"):
        UnifontHex.parse(["zz:00"])
