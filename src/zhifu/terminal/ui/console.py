"""The terminal in a text terminal: frames of half blocks out, typed keys in.

A frame is ``ESC [H`` (cursor home), the screen as rows of half blocks (``▀ ▄ █``), then two
status lines: the phase and the card in the reader's slot, and the keys. Typed bytes are cut
into tokens: an arrow's escape sequence is one token, a lone ``ESC`` is cancel.

>>> list(tokens("12\\x1b[A\\x1b"))
['1', '2', '\\x1b[A', '\\x1b']
>>> COMMANDS["t"]
'tap'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from zhifu.terminal.ui.machine import Phase
from zhifu.terminal.ui.screen import Screen

__all__ = ["COMMANDS", "HOME", "LEGEND", "frame", "tokens"]

HOME: Final = "\x1b[H"
_CLEAR_LINE: Final = "\x1b[K"
COMMANDS: Final = {"i": "insert", "t": "tap", "s": "swipe", "b": "fallback"}
"""Card events: insert the chip, tap, swipe the stripe, swipe after a chip failure."""
LEGEND: Final = (
    "0-9 Enter=OK Bksp=correct Esc=cancel arrows | i insert t tap s swipe b fallback "
    "n next card | q quit"
)


def tokens(typed: str) -> Iterator[str]:
    """Cut typed characters into keys (escape sequences whole)."""
    position = 0
    while position < len(typed):
        if typed.startswith("\x1b[", position) and position + 2 < len(typed):
            yield typed[position : position + 3]
            position += 3
        else:
            yield typed[position]
            position += 1


def frame(
    screen: Screen, phase: Phase, cards: Sequence[Path], selected: int, note: str = ""
) -> str:
    """The whole picture: the screen and the status lines, from the top left corner."""
    rows = screen.blocks()
    card = f"card {selected + 1}/{len(cards)} {cards[selected].name}" if cards else "no card"
    status = f"[{phase.value}] {card} {note}".rstrip()
    lines = [*rows, "", status, LEGEND]
    return HOME + "".join(line + _CLEAR_LINE + "\r\n" for line in lines)
