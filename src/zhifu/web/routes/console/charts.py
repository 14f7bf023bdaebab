"""Bar charts drawn on the server as inline SVG: no script, no style attribute (the page's
content security policy allows neither inline), only presentation attributes and the classes
``zhifu.css`` styles. A chart scales to the width of its box (``viewBox``), so it fits a phone.

>>> svg = hour_bars("cards", [0] * 9 + [12] + [0] * 14, "Answers per hour", str)
>>> svg.startswith('<svg id="cards" class="chart"'), "<title>09:00 12</title>" in svg
(True, True)
>>> "<text" in svg and ">12<" in svg
True
>>> print(short(1234), short(56789), short(12345678))
1234 56.8k 12.3M
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from zhifu.web.pages import escape

__all__ = ["hour_bars", "label_bars", "short"]

_WIDTH: Final = 480  # narrow: on a 375-pixel phone the text stays readable
_HEIGHT: Final = 200
_LEFT: Final = 4
_TOP: Final = 34  # room for the values, written upwards above their bars
_BOTTOM: Final = 18
_ROW: Final = 20


def short(value: int) -> str:
    """An integer in at most five characters: ``56.8k``, ``12.3M`` (integer arithmetic)."""
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (10_000, "k")):
        if abs(value) >= size:
            base = 1_000 if unit == "k" else size
            tenths = (abs(value) * 10 + base // 2) // base
            sign = "-" if value < 0 else ""
            return f"{sign}{tenths // 10}.{tenths % 10}{unit}"
    return str(value)


def hour_bars(chart_id: str, values: Sequence[int], title: str,
              label: Callable[[int], str]) -> str:  # fmt: skip
    """24 vertical bars (hours 00 to 23) with each non-zero value written above its bar and
    in its tooltip (``label`` formats it), every third hour named below."""
    top = max(max(values, default=0), 1)
    step = (_WIDTH - 2 * _LEFT) // 24
    plot = _HEIGHT - _TOP - _BOTTOM
    parts = [f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{_LEFT}" y1="{_TOP + plot}" x2="{_WIDTH - _LEFT}" y2="{_TOP + plot}" '
             'class="axis" stroke="currentColor"/>']  # fmt: skip
    for hour, value in enumerate(values):
        x = _LEFT + hour * step
        height = plot * value // top
        y = _TOP + plot - height
        shown = escape(label(value))
        parts.append(f'<rect x="{x + 2}" y="{y}" width="{step - 4}" height="{height}" '
                     f'class="bar"><title>{hour:02d}:00 {shown}</title></rect>')  # fmt: skip
        if value:
            middle = x + step // 2 + 4
            parts.append(f'<text x="{middle}" y="{y - 3}" transform="rotate(-90 {middle} '
                         f'{y - 3})" font-size="11" class="value">{shown}</text>')  # fmt: skip
        if hour % 3 == 0:
            parts.append(f'<text x="{x + step // 2}" y="{_HEIGHT - 4}" text-anchor="middle" '
                         f'font-size="12" class="tick">{hour:02d}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def label_bars(chart_id: str, rows: Sequence[tuple[str, int]], title: str) -> str:
    """Horizontal bars, one per ``(label, value)`` row, the label on the left, the value at
    the bar's end."""
    top = max((v for _, v in rows), default=0) or 1
    height = _ROW * max(len(rows), 1) + 8
    start, room = 190, _WIDTH - 190 - 50
    parts = [f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {_WIDTH} {height}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']  # fmt: skip
    for i, (label, value) in enumerate(rows):
        y = 4 + i * _ROW
        width = max(room * value // top, 1)
        parts.append(f'<text x="{start - 8}" y="{y + 15}" text-anchor="end" font-size="12" '
                     f'class="tick">{escape(label)}</text>'
                     f'<rect x="{start}" y="{y + 3}" width="{width}" height="{_ROW - 6}" '
                     f'class="bar"><title>{escape(label)}: {value}</title></rect>'
                     f'<text x="{start + width + 6}" y="{y + 15}" font-size="12" '
                     f'class="value">{value}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
