"""The keypad: ten digits and six function keys, and the keys of a PC keyboard that stand in.

>>> Key.from_keyboard("\\r"), Key.from_keyboard("7"), Key.from_keyboard("\\x1b[A")
(<Key.CONFIRM: 'confirm'>, <Key.D7: '7'>, <Key.UP: 'up'>)
>>> Key.D7.digit, Key.CANCEL.digit
('7', None)
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["KEYBOARD", "Key"]


class Key(enum.Enum):
    """A key of the terminal's keypad."""

    D0 = "0"
    D1 = "1"
    D2 = "2"
    D3 = "3"
    D4 = "4"
    D5 = "5"
    D6 = "6"
    D7 = "7"
    D8 = "8"
    D9 = "9"
    CONFIRM = "confirm"  # 确认, green
    CORRECT = "correct"  # 更正, yellow: one character back
    CANCEL = "cancel"  # 取消, red: back out
    FUNCTION = "function"  # 功能
    UP = "up"
    DOWN = "down"

    @property
    def digit(self) -> str | None:
        """The digit of a digit key, else None."""
        return self.value if self.value.isdigit() else None

    @classmethod
    def from_keyboard(cls, typed: str) -> Key | None:
        """The keypad key a PC key (or escape sequence) stands for, None for any other."""
        return KEYBOARD.get(typed)


KEYBOARD: Final[dict[str, Key]] = {
    **{str(n): Key(str(n)) for n in range(10)},
    "\r": Key.CONFIRM,
    "\n": Key.CONFIRM,
    "\x7f": Key.CORRECT,  # Backspace
    "\x08": Key.CORRECT,
    "\x1b": Key.CANCEL,  # Esc
    "f": Key.FUNCTION,
    "\x1b[A": Key.UP,
    "\x1b[B": Key.DOWN,
    "u": Key.UP,
    "d": Key.DOWN,
}
"""PC keys for the keypad: digits, Enter = confirm, Backspace = correct, Esc = cancel,
``f`` = function, the arrows (or ``u``/``d``) = up and down."""
