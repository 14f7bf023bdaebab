"""What each phase of :class:`~zhifu.terminal.ui.machine.TerminalUI` shows on the four lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from zhifu.terminal.result import TransactionResult, yuan
from zhifu.terminal.ui.menus import MenuItem
from zhifu.terminal.ui.screen import LINES, Align

if TYPE_CHECKING:
    from zhifu.terminal.ui.machine import TerminalUI

__all__ = ["draw", "short_pan"]

_LINE_CHARS: Final = 16
"""ASCII characters a 128-pixel line holds."""


def short_pan(masked: str) -> str:
    """A masked PAN cut to one line: first 6, stars, last 4 (never more digits).

    >>> short_pan("622202******1234567")
    '622202******4567'
    """
    if len(masked) <= _LINE_CHARS:
        return masked
    return masked[:6] + "*" * (_LINE_CHARS - 10) + masked[-4:]


def _title(ui: TerminalUI) -> str:
    action = ui.action or ""
    for item in _walk(ui.menus.root.children):
        if item.action == action:
            return ui.label(item)
    return action


def _walk(items: tuple[MenuItem, ...]) -> list[MenuItem]:
    found: list[MenuItem] = []
    for item in items:
        found += [item, *_walk(item.children)]
    return found


def _idle(ui: TerminalUI) -> list[str]:
    state = ui.terminal.state
    return [ui.menus.title[ui.language], f"TID {state.terminal_id}", f"BATCH {state.batch}",
            ui.text("idle")]  # fmt: skip


def _menu(ui: TerminalUI) -> None:
    items = ui.items
    heading = ui.label(ui.path[-1]) if ui.path else ui.menus.title[ui.language]
    first = min(max(ui.cursor - 1, 0), max(len(items) - (LINES - 1), 0))
    ui.screen.clear()
    ui.screen.line(0, heading, align="center")
    for row, index in enumerate(range(first, min(first + LINES - 1, len(items))), start=1):
        text = f"{index + 1}.{ui.label(items[index])}"
        ui.screen.line(row, text, invert=index == ui.cursor)


def _amount_line(ui: TerminalUI, value: int) -> str:
    return f"{ui.text('amount_label')} {yuan(value)}"


def _original(ui: TerminalUI) -> list[str]:
    return [_title(ui), ui.text("original"), "", ui.typed]


def _amount(ui: TerminalUI) -> list[str]:
    return [_title(ui), ui.text("amount"), "", yuan(int(ui.typed or "0"))]


def _card(ui: TerminalUI) -> list[str]:
    second = _amount_line(ui, ui.amount) if ui.amount else ""
    return [_title(ui), second, ui.text("card"), ""]


def _pin(ui: TerminalUI) -> list[str]:
    second = _amount_line(ui, ui.amount) if ui.amount else ""
    stars = ui.pad.screen if ui.pad is not None else ""
    return [_title(ui), second, ui.text("pin"), stars]


def _select(ui: TerminalUI) -> list[str]:
    rows = [f"{n}.{c.label}" for n, c in enumerate(ui.candidates[: LINES - 1], start=1)]
    return [ui.text("select"), *rows, "", "", ""][:LINES]


def _busy(ui: TerminalUI) -> list[str]:
    return [_title(ui), "", ui.text("processing"), ""]


def _outcome(ui: TerminalUI, result: TransactionResult) -> str:
    if result.approved:
        return ui.text("approved")
    if result.reversed:
        return ui.text("reversed")
    if "cancelled" in result.message:
        return ui.text("cancelled")
    if result.response_code:
        return f"{ui.text('declined')} {result.response_code}"
    return ui.text("failed")


def _result(ui: TerminalUI) -> list[str]:
    result = ui.result
    if result is None:
        return [_title(ui), "", "", ""]
    if result.balance is not None:
        detail = f"{ui.text('balance')} {yuan(result.balance)}"
    elif result.amount:
        detail = _amount_line(ui, result.amount)
    else:
        detail = ""
    return [_title(ui), _outcome(ui, result), detail or short_pan(result.masked_pan),
            ui.text("remove")]  # fmt: skip


_VIEWS: Final[dict[str, Callable[[TerminalUI], list[str]]]] = {
    "idle": _idle,
    "original": _original,
    "amount": _amount,
    "card": _card,
    "pin": _pin,
    "busy": _busy,
    "select": _select,
    "result": _result,
}


def draw(ui: TerminalUI) -> None:
    """Draw the phase ``ui`` is in on its screen."""
    phase = ui.phase.value
    if phase == "menu":
        _menu(ui)
        return
    lines = _VIEWS[phase](ui)
    ui.screen.clear()
    ui.screen.line(0, lines[0], align="center")
    for number, text in enumerate(lines[1:LINES], start=1):
        ui.screen.line(number, text, align=_LAST_LINE.get(phase, "left") if number == 3 else "left")


_LAST_LINE: Final[dict[str, Align]] = {"amount": "right", "original": "right", "pin": "center"}
"""The typed value sits right (amounts, STAN); the PIN's stars in the middle."""
