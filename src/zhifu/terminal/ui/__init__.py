"""The mini terminal's face: the 128×64 screen, the keypad, menus as data, and the machine that
walks a person through a transaction (``docs/terminal.md``, "Screen and keypad")."""

from zhifu.terminal.ui.keys import Key
from zhifu.terminal.ui.machine import Phase, TerminalUI
from zhifu.terminal.ui.menus import Menus, load_menus
from zhifu.terminal.ui.screen import Screen

__all__ = ["Key", "Menus", "Phase", "Screen", "TerminalUI", "load_menus"]
