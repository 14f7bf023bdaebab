"""The web console's virtual mPOS: one terminal and a few test cards per console user.

The first time a user opens the virtual terminal, :class:`Desks` makes its *desk* in the data
directory (``console/desks/<user>/``): it registers a terminal with the acquirer (the TMK made
as two components in the acquirer's security module, as ``zhifu acquirer add-terminal`` does),
forms the TMK in a terminal state folder (:meth:`zhifu.terminal.Terminal.init`), has the
acquirer's issuer issue three cards — a debit chip card, a credit chip card and a magnetic
stripe card, PIN :data:`TEST_PIN` — and signs the terminal on at the acquirer's TCP port. The
terminal is the real one (:class:`~zhifu.terminal.ui.machine.TerminalUI` over
:class:`~zhifu.terminal.Terminal`): its frames go to the acquirer over TCP like any terminal's.

The browser is only the keypad and the screen: keys arrive one by one, and during PIN entry the
digits arrive sealed under the PIN pad's key (:mod:`zhifu.terminal.sealed`); the terminal is
made with ``sealed_pin`` so a clear digit does nothing there.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from zhifu.acquirer.config import AcquirerConfig, ensure_local_lmk
from zhifu.acquirer.host import AcquirerHost
from zhifu.acquirer.registry import register_terminal
from zhifu.core.errors import UsageError
from zhifu.issuer import Issuer
from zhifu.terminal import Terminal
from zhifu.terminal.link import NoAnswerError
from zhifu.terminal.ui.machine import TerminalUI

__all__ = ["CONSOLE_MERCHANT", "TEST_PIN", "Desk", "DeskCard", "Desks"]

CONSOLE_MERCHANT: Final = "898310048990001"
"""The merchant the console's virtual terminals belong to."""
TEST_PIN: Final = "123456"
"""The PIN of the console's test cards (printed on the page: they are test cards)."""
PRODUCTS: Final = (("debit", 500_000_00), ("credit", 200_000_00), ("magstripe", 50_000_00))
"""The cards a desk gets: product and opening balance (or limit) in fen."""
_SAFE: Final = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class DeskCard:
    """A test card of a desk: its product, the masked number, its chip (or stripe) file."""

    product: str
    masked_pan: str
    path: Path


@dataclass
class Desk:
    """One user's terminal and cards."""

    folder: Path
    terminal: Terminal
    ui: TerminalUI
    cards: list[DeskCard]

    @property
    def terminal_id(self) -> str:
        return str(self.terminal.state.terminal_id)

    def language(self, lang: str) -> None:
        """Show the screen in ``lang`` (between transactions only)."""
        if lang != self.ui.language and self.ui.phase.value == "idle":
            self.ui = TerminalUI(self.terminal, language=lang, sealed_pin=True,
                                 receipts=self.folder / "receipts")  # fmt: skip

    def close(self) -> None:
        self.terminal.close()


class Desks:
    """The desks of a data directory, made on first use (thread-safe)."""

    def __init__(
        self, home: Path | str, acquirer: tuple[str, int] | None,
        on_made: Callable[[str, str], None] | None = None,
    ) -> None:  # fmt: skip
        """``on_made(user, terminal_id)`` is told of each desk made (the audit trail)."""
        self.home = Path(home)
        self.acquirer = acquirer
        self.on_made = on_made
        self._desks: dict[str, Desk] = {}
        self._lock = threading.Lock()

    def of(self, user: str, lang: str = "zh") -> Desk:
        """``user``'s desk, made (and signed on) the first time."""
        with self._lock:
            found = self._desks.get(user)
            if found is None:
                found = self._open(user, lang)
                self._desks[user] = found
            return found

    def close(self) -> None:
        with self._lock:
            for desk in self._desks.values():
                desk.close()
            self._desks.clear()

    def _open(self, user: str, lang: str) -> Desk:
        folder = self.home / "console" / "desks" / _SAFE.sub("_", user)
        fresh = not (folder / "desk.json").exists()
        if fresh:
            terminal_id = self._make(folder)
            if self.on_made is not None:
                self.on_made(user, terminal_id)
        record = json.loads((folder / "desk.json").read_text(encoding="utf-8"))
        cards = [
            DeskCard(c["product"], c["masked_pan"], folder / c["file"]) for c in record["cards"]
        ]
        terminal = Terminal(folder / "terminal")
        ui = TerminalUI(terminal, language=lang, sealed_pin=True, receipts=folder / "receipts")
        if fresh and self.acquirer is not None:
            # keys and a batch now; without the acquirer, the menu's sign-on later
            with contextlib.suppress(NoAnswerError, OSError):
                terminal.sign_on(f"{self.acquirer[0]}:{self.acquirer[1]}")
        return Desk(folder, terminal, ui, cards)

    def _make(self, folder: Path) -> str:
        """Register the terminal, form its TMK and issue its cards; desk.json last; the
        terminal's id."""
        if self.acquirer is None:
            raise UsageError("no acquirer runs beside the console: start zhifu serve with one",
                             argument="acquirer")  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)
        address = f"{self.acquirer[0]}:{self.acquirer[1]}"
        config = AcquirerConfig.local(self.home, port=0)
        host = AcquirerHost.open(config, environ=ensure_local_lmk(self.home))
        try:
            services = host.services
            terminal_id = f"W{len(list(folder.parent.iterdir())):07d}"
            made = register_terminal(
                services.registry, services.hsm, CONSOLE_MERCHANT, terminal_id,
                name="web console", merchant_name="zhifu 控制台",
            )  # fmt: skip
            parts = [c.material.reveal().hex() for c in made.components]
            if not (folder / "terminal" / "state.json").exists():
                Terminal.init(folder / "terminal", CONSOLE_MERCHANT, terminal_id, parts,
                              host=address).close()  # fmt: skip
            issuer = services.issuer
            if not isinstance(issuer, Issuer):
                raise UsageError("the acquirer has no issuer in this data directory",
                                 argument="acquirer")  # fmt: skip
            cards: list[dict[str, Any]] = []
            for product, balance in PRODUCTS:
                issued = issuer.issue_card(product, balance, TEST_PIN, folder / f"{product}.json")
                cards.append({"product": product, "masked_pan": issued.masked_pan,
                              "file": f"{product}.json"})  # fmt: skip
        finally:
            host.close()
        record = {"terminal_id": terminal_id, "cards": cards}
        (folder / "desk.json").write_text(json.dumps(record), encoding="utf-8")
        return terminal_id
