"""``zhifu terminal shell`` and ``zhifu terminal ecash-balance``: the terminal by hand.

The shell puts the 128×64 screen in the text terminal (half blocks) and takes keys: digits,
Enter (confirm), Backspace (correct), Esc (cancel), the arrows (up, down), ``f`` (function);
``i``/``t``/``s``/``b`` insert, tap, swipe the chosen card or swipe it after a chip failure,
``n`` chooses the next card of the ``--card`` list, ``q`` or Ctrl-C quits. PIN digits go to
the secure module's PIN pad; the screen shows ``*``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError
from zhifu.terminal import Terminal
from zhifu.terminal.ui.console import COMMANDS, frame, tokens
from zhifu.terminal.ui.keys import Key
from zhifu.terminal.ui.machine import TerminalUI
from zhifu.terminal.ui.menus import load_menus
from zhifu.terminal.ui.screen import Screen

__all__ = ["register"]

_QUIT = ("q", "\x03")
_TICK = 0.1


def register(cmds: SubParsers, add_state: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``shell`` and ``ecash-balance`` to ``zhifu terminal``."""
    p = leaf(cmds, "shell", _shell, "drive the terminal by hand: screen, keypad, cards")
    add_state(p)
    p.add_argument(
        "--card", action="append", default=[], metavar="CARD",
        help="a card file to insert, tap or swipe (give several; n picks the next)",
    )  # fmt: skip
    p.add_argument("--lang", default="zh", choices=("zh", "en"), help="screen language")
    p.add_argument("--menus", metavar="FILE", help="another menu file (docs/terminal.md)")
    p.add_argument("--width", type=int, default=128, choices=(128, 192), help="screen pixels")
    p.add_argument("--receipt", metavar="DIR", help="write the slips of approvals there")
    p.add_argument("--snapshots", metavar="DIR", help="save every screen shown as a PNG there")
    p = leaf(cmds, "ecash-balance", _ecash_balance, "read the card's e-cash balance (no host)")
    add_state(p)
    p.add_argument("--card", required=True, metavar="CARD", help="the card file")


def _ecash_balance(args: argparse.Namespace) -> Outcome:
    terminal = Terminal(args.state, timeout=args.timeout)
    try:
        result = terminal.ecash_balance(args.card)
    finally:
        terminal.close()
    data = result.as_json()
    if not result.approved:
        return Outcome(data, f"no e-cash balance: {result.message}", 1)
    return Outcome(data, f"card {result.masked_pan}: e-cash balance {data['balance']}")


@contextlib.contextmanager
def _raw(stream: TextIO) -> Iterator[int]:
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class _Session:
    """One shell: the machine, the card list, the output, the snapshots."""

    def __init__(self, ui: TerminalUI, cards: list[Path], snapshots: Path | None) -> None:
        self.ui, self.cards, self.selected = ui, cards, 0
        self.snapshots, self.shown, self.note = snapshots, -1, ""

    def draw(self, out: TextIO) -> None:
        version, phase, screen = self.ui.view()
        if version == self.shown:
            return
        self.shown = version
        out.write(frame(screen, phase, self.cards, self.selected, self.note))
        out.flush()
        if self.snapshots is not None:
            screen.png(self.snapshots / f"screen-{version:04d}.png", scale=2)

    def typed(self, typed: str) -> bool:
        """Handle one token; False to quit."""
        if typed in _QUIT:
            return False
        key = Key.from_keyboard(typed)
        if key is not None:
            self.ui.press(key)
            self.note = ""
        elif typed == "n" and self.cards:
            self.selected = (self.selected + 1) % len(self.cards)
            self.note = ""
            self.shown = -1
        elif typed in COMMANDS and self.cards:
            taken = self.ui.present(self.cards[self.selected], COMMANDS[typed])
            self.note = "" if taken else "(not waiting for a card)"
            self.shown = -1
        return True


def _loop(session: _Session, fd: int, out: TextIO) -> None:
    buffered = ""
    while True:
        session.draw(out)
        ready, _, _ = select.select([fd], [], [], _TICK)
        if not ready:
            if buffered:  # a lone ESC that no sequence followed: cancel
                session.typed(buffered)
                buffered = ""
            continue
        data = os.read(fd, 64)
        if not data:
            return
        text = buffered + data.decode("utf-8", "replace")
        buffered = text if text in ("\x1b", "\x1b[") else ""
        if buffered:
            continue
        for token in tokens(text):
            if not session.typed(token):
                return


def _shell(args: argparse.Namespace) -> Outcome:
    if not sys.stdin.isatty():
        raise UsageError("the shell needs a terminal (a TTY) on its input", argument="--state")
    cards = [Path(card) for card in args.card]
    for card in cards:
        if not card.is_file():
            raise UsageError(f"no card file {card}", argument="--card")
    menus = load_menus(args.menus) if args.menus else None
    snapshots = Path(args.snapshots) if args.snapshots else None
    if snapshots is not None:
        snapshots.mkdir(parents=True, exist_ok=True)
    terminal = Terminal(args.state, timeout=args.timeout)
    try:
        ui = TerminalUI(terminal, menus=menus, language=args.lang, screen=Screen(args.width),
                        receipts=args.receipt)  # fmt: skip
        session = _Session(ui, cards, snapshots)
        out = sys.stdout
        out.write("\x1b[2J\x1b[?25l")
        try:
            with _raw(sys.stdin) as fd:
                _loop(session, fd, out)
        finally:
            out.write("\x1b[?25h\r\n")
            out.flush()
    finally:
        terminal.close()
    return Outcome({"quit": True}, "terminal shell closed")
