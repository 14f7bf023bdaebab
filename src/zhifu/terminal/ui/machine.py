"""The terminal as a person uses it: screens, keys and card events around the transactions.

:class:`TerminalUI` walks the menu (``menus.json``), asks for what the chosen function needs
(original STAN, amount), waits for the card (inserted, tapped, swiped), and runs the
transaction in a worker thread on a :class:`~zhifu.terminal.Terminal`. When the card's
verification asks for an online PIN, the worker hands the keypad to the secure module's PIN pad
(:class:`~zhifu.terminal.secure.PinPad`): digits go there, the screen shows one ``*`` each, and
what comes back is the enciphered PIN block. The result stays on the screen until confirm.

Phases: ``idle`` → ``menu`` → (``original``) → (``amount``) → (``card``) → ``busy`` (⇄ ``pin``)
→ ``result`` → ``idle``; cancel goes back one menu level, or to ``idle`` from any step before
the card is read.

With ``sealed_pin`` (a keypad outside the secure module, as the web console's), a clear digit
key does nothing at the PIN pad: digits arrive only sealed (:meth:`TerminalUI.press_sealed`).
"""

from __future__ import annotations

import enum
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from zhifu.core.errors import UsageError, ZhifuError
from zhifu.terminal.chip import Candidate, CardRefusedError
from zhifu.terminal.core import Terminal
from zhifu.terminal.flow import Card
from zhifu.terminal.link import NoAnswerError
from zhifu.terminal.result import TransactionResult
from zhifu.terminal.secure import PinPad
from zhifu.terminal.ui.keys import Key
from zhifu.terminal.ui.menus import MenuItem, Menus, load_menus
from zhifu.terminal.ui.screen import Screen
from zhifu.terminal.ui.views import draw

__all__ = ["HOW", "Phase", "TerminalUI"]

HOW: Final = ("insert", "tap", "swipe", "fallback")
"""How a card is presented: the chip, contactless, the stripe, the stripe after a chip failure."""
_MAX_AMOUNT_DIGITS: Final = 10
_PIN_WAIT: Final = 60.0


class Phase(enum.Enum):
    """Where the terminal is."""

    IDLE = "idle"
    MENU = "menu"
    ORIGINAL = "original"
    AMOUNT = "amount"
    CARD = "card"
    PIN = "pin"
    SELECT = "select"  # the card lists several applications: the cardholder chooses
    BUSY = "busy"
    RESULT = "result"


class TerminalUI:
    """Keys and card events in, screens out; transactions on ``terminal``."""

    def __init__(
        self, terminal: Terminal, *, menus: Menus | None = None, language: str = "zh",
        screen: Screen | None = None, receipts: Path | str | None = None, sealed_pin: bool = False,
    ) -> None:  # fmt: skip
        if language not in ("zh", "en"):
            raise UsageError("zh or en", argument="--lang")
        self.terminal = terminal
        terminal.choose_application = self._choose_application
        self.menus = menus if menus is not None else load_menus()
        self.language = language
        self.screen = screen if screen is not None else Screen()
        self.receipts = Path(receipts) if receipts is not None else None
        self.phase = Phase.IDLE
        self.path: list[MenuItem] = []
        self.cursor = 0
        self.action: str | None = None
        self.typed = ""
        self.amount = 0
        self.original = ""
        self.pad: PinPad | None = None
        self.sealed_pin = sealed_pin  # PIN digits come only sealed (a keypad outside the module)
        self.result: TransactionResult | None = None
        self.slips: list[Path] = []
        self.version = 0
        self._answers: queue.Queue[str | bytes | int | None] = queue.Queue()
        self.candidates: list[Candidate] = []
        self._offline = False  # the PIN pad is open for the card's own (offline) verification
        self._changed = threading.Condition(threading.RLock())
        self._worker: threading.Thread | None = None
        with self._changed:
            self._redraw()

    # ------------------------------------------------------------------ reading the state

    def wait_for(self, phase: Phase, timeout: float = 30.0) -> bool:
        """Block until the terminal is in ``phase`` (True) or ``timeout`` passes (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.phase is phase, timeout)

    def wait_changed(self, version: int, timeout: float) -> int:
        """Block until the screen changes from ``version``; the version then."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout)
            return self.version

    def view(self) -> tuple[int, Phase, Screen]:
        """The screen's version, the phase and a copy of the screen, taken together."""
        with self._changed:
            return self.version, self.phase, self.screen.copy()

    def text(self, name: str) -> str:
        """A prompt of the menu file in the terminal's language."""
        return self.menus.prompt(name, self.language)

    def label(self, item: MenuItem) -> str:
        """A menu item's label in the terminal's language."""
        return item.label[self.language]

    @property
    def items(self) -> tuple[MenuItem, ...]:
        """The entries of the menu shown."""
        return self.path[-1].children if self.path else self.menus.root.children

    # ------------------------------------------------------------------ events

    def press(self, key: Key) -> None:
        """A key of the keypad."""
        with self._changed:
            handler = _HANDLERS.get(self.phase)
            if handler is not None:
                handler(self, key)
            self._redraw()

    def press_sealed(self, sealed: bytes) -> None:
        """A PIN digit sealed under the PIN pad's key (:mod:`zhifu.terminal.sealed`); nothing
        outside the PIN entry. A sealed digit that does not open raises SealError."""
        with self._changed:
            if self.phase is Phase.PIN and self.pad is not None:
                self.pad.press_sealed(sealed)
                self._redraw()

    def pin_seal(self) -> tuple[str, bytes] | None:
        """The PIN entry's key id and public key while the PIN pad is open, else None."""
        with self._changed:
            if self.phase is not Phase.PIN or self.pad is None:
                return None
            seal = self.pad.seal
            return seal.key_id, seal.public_der()

    def present(self, card: Card, how: str = "insert") -> bool:
        """A card inserted, tapped or swiped; False when the terminal is not waiting for one."""
        if how not in HOW:
            raise UsageError(f"one of {', '.join(HOW)}", argument="how")
        with self._changed:
            if self.phase is not Phase.CARD or self.action is None:
                return False
            self._start(self.action, card, how)
            self._redraw()
            return True

    # ------------------------------------------------------------------ the phases

    def _idle(self, key: Key) -> None:
        if key in (Key.CONFIRM, Key.FUNCTION):
            self.phase, self.path, self.cursor = Phase.MENU, [], 0

    def _menu(self, key: Key) -> None:
        items = self.items
        if key is Key.UP:
            self.cursor = (self.cursor - 1) % len(items)
        elif key is Key.DOWN:
            self.cursor = (self.cursor + 1) % len(items)
        elif key is Key.CANCEL:
            if self.path:
                self.path.pop()
                self.cursor = 0
            else:
                self.phase = Phase.IDLE
        elif key is Key.CONFIRM:
            self._choose(items[self.cursor])
        elif key.digit and 1 <= int(key.digit) <= len(items):
            self._choose(items[int(key.digit) - 1])

    def _choose(self, item: MenuItem) -> None:
        if item.children:
            self.path.append(item)
            self.cursor = 0
            return
        assert item.action is not None
        self.action, self.amount, self.original, self.typed = item.action, 0, "", ""
        self._next_step(None)

    def _next_step(self, done: str | None) -> None:
        assert self.action is not None
        steps = self.menus.actions.get(self.action, ())
        after = steps[steps.index(done) + 1 :] if done in steps else steps
        self.typed = ""
        for step in after:
            if step == "pin":
                continue  # the PIN pad opens when the card's verification asks
            self.phase = Phase(step)
            return
        self._start(self.action, None, "insert")

    def _digits(self, key: Key, limit: int, step: Phase) -> None:
        if key is Key.CANCEL:
            self.phase = Phase.IDLE
        elif key is Key.CORRECT:
            self.typed = self.typed[:-1]
        elif key.digit is not None and len(self.typed) < limit:
            if not (step is Phase.AMOUNT and self.typed == "" and key.digit == "0"):
                self.typed += key.digit
        elif key is Key.CONFIRM and self.typed:
            if step is Phase.AMOUNT:
                self.amount = int(self.typed)
            else:
                self.original = self.typed.zfill(6)
            self._next_step(step.value)

    def _card(self, key: Key) -> None:
        if key is Key.CANCEL:
            self.phase = Phase.IDLE

    def _pin(self, key: Key) -> None:
        pad = self.pad
        assert pad is not None
        if key is Key.CANCEL:
            self._answer(None)
        elif key is Key.CORRECT:
            pad.press("correct")
        elif key.digit is not None and not self.sealed_pin:
            pad.press(key.digit)
        elif key is Key.CONFIRM and 4 <= len(pad.screen) <= 12:
            self._answer(pad.offline_block() if self._offline else pad.confirm())

    def _select(self, key: Key) -> None:
        if key is Key.CANCEL:
            self.candidates, self.phase = [], Phase.BUSY
            self._answers.put(None)
        elif key.digit and 1 <= int(key.digit) <= len(self.candidates):
            self.candidates, self.phase = [], Phase.BUSY
            self._answers.put(int(key.digit) - 1)

    def _answer(self, block: str | bytes | None) -> None:
        self.pad, self.phase = None, Phase.BUSY
        self._answers.put(block)

    def _result(self, key: Key) -> None:
        if key in (Key.CONFIRM, Key.CANCEL):
            self.phase, self.result, self.slips = Phase.IDLE, None, []

    # ------------------------------------------------------------------ the worker

    def _start(self, action: str, card: Card | None, how: str) -> None:
        self.phase, self.result = Phase.BUSY, None
        self._worker = threading.Thread(
            target=self._work, args=(action, card, how), name="terminal-ui", daemon=True
        )
        self._worker.start()

    def _work(self, action: str, card: Card | None, how: str) -> None:
        try:
            result = self._transaction(action, card, how)
        except NoAnswerError as exc:
            result = TransactionResult(action, message=str(exc))
        except ZhifuError as exc:
            result = TransactionResult(action, message=str(exc))
        with self._changed:
            self.result, self.phase = result, Phase.RESULT
            self.slips = self._write_slips(result)
            self._redraw()

    def _transaction(self, action: str, card: Card | None, how: str) -> TransactionResult:
        term = self.terminal
        if action == "signon":
            code = term.sign_on().get("39") or ""
            return TransactionResult(action, response_code=code, approved=code == "00")
        if action == "settle":
            data = term.settle()
            code = str(data["response_code"])
            return TransactionResult(action, response_code=code, approved=code == "00")
        assert card is not None
        if action == "ecash-balance":
            return term.ecash_balance(card)
        wants_pin = "pin" in self.menus.actions.get(action, ())
        return term.transact(
            action, card, pin=_PinPadEntry(self) if wants_pin else None, amount=self.amount,
            original=self.original or None, swipe=how == "swipe", tap=how == "tap",
            fallback=how == "fallback",
        )  # fmt: skip

    def _enter_pin(self, pan: str, *, offline: bool = False) -> str | bytes | int:
        """The flow's PIN entry (worker thread): open the PIN pad, wait for the block."""
        keys = self.terminal.state.keys or {}
        with self._changed:
            self.pad = PinPad(self.terminal.hsm, keys["pik"], pan)
            self.phase, self._offline = Phase.PIN, offline
            self._redraw()
        try:
            block = self._answers.get(timeout=_PIN_WAIT)
        except queue.Empty:
            block = None
        if block is None:
            with self._changed:
                self.pad, self.phase = None, Phase.BUSY
                self._redraw()
            raise CardRefusedError("cancelled at the PIN pad")
        return block

    def _choose_application(self, candidates: list[Candidate]) -> int:
        """The flow's application choice (worker thread): the list on the screen, a digit."""
        with self._changed:
            self.candidates, self.phase = list(candidates), Phase.SELECT
            self._redraw()
        try:
            chosen = self._answers.get(timeout=_PIN_WAIT)
        except queue.Empty:
            chosen = None
        if not isinstance(chosen, int):
            raise CardRefusedError("cancelled at the application list")
        return chosen

    def _write_slips(self, result: TransactionResult) -> list[Path]:
        if self.receipts is None or not result.approved or not result.stan:
            return []
        from zhifu.terminal.receipt import write_slips  # noqa: PLC0415 - Pillow when asked

        state = self.terminal.state
        return write_slips(result, state.merchant_id, state.terminal_id, self.receipts)

    # ------------------------------------------------------------------ the screen

    def _redraw(self) -> None:
        draw(self)
        self.version += 1
        self._changed.notify_all()


class _PinPadEntry:
    """The PIN pad as the flow asks for it: online (the block under the PIK) or, when the card
    verifies the PIN itself, offline (the ISO format 2 block for VERIFY)."""

    def __init__(self, ui: TerminalUI) -> None:
        self._ui = ui

    def __call__(self, pan: str) -> str:
        block = self._ui._enter_pin(pan)
        assert isinstance(block, str)
        return block

    def offline(self) -> bytes:
        block = self._ui._enter_pin("", offline=True)
        assert isinstance(block, bytes)
        return block


_HANDLERS: Final[dict[Phase, Callable[[TerminalUI, Key], None]]] = {
    Phase.IDLE: TerminalUI._idle,
    Phase.MENU: TerminalUI._menu,
    Phase.ORIGINAL: lambda ui, key: ui._digits(key, 6, Phase.ORIGINAL),
    Phase.AMOUNT: lambda ui, key: ui._digits(key, _MAX_AMOUNT_DIGITS, Phase.AMOUNT),
    Phase.CARD: TerminalUI._card,
    Phase.PIN: TerminalUI._pin,
    Phase.SELECT: TerminalUI._select,
    Phase.RESULT: TerminalUI._result,
}
"""What a key does in each phase (busy: nothing)."""
