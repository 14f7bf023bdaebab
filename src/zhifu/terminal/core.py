"""``Terminal``: sign-on, card transactions, reversal and settlement against a host.

Every call works on the state folder and saves it before it returns (the rules are in
:mod:`~zhifu.terminal.flow`). One ``Terminal`` may be shared by threads: its calls take turns.
For many terminals in one event loop, see :class:`~zhifu.terminal.aio.AsyncTerminal`.

>>> import os, tempfile
>>> os.environ["ZHIFU_LMK"] = "4B" * 32
>>> folder = os.path.join(tempfile.mkdtemp(), "term")
>>> term = Terminal.init(folder, "898100012345678", "10000001",
...                      ["0123456789ABCDEFFEDCBA9876543210", "1111111111111111222222222222222F"])
>>> term.state.batch, term.state.next_stan, term.state.needs_sign_on
('000000', 1, True)
>>> term.purchase("card.json", "1234", 100)
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: --state: sign on first: `zhifu terminal signon`
>>> term.close(); del os.environ["ZHIFU_LMK"]
"""

from __future__ import annotations

import shutil
import ssl
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from zhifu.core.errors import UsageError
from zhifu.crypto.kcv import kcv as compute_kcv
from zhifu.iso8583 import Message
from zhifu.security.errors import KcvMismatchError
from zhifu.security.hsm.keys import KeyComponent
from zhifu.security.keys import KeyUsage
from zhifu.security.secrets import KeyMaterial
from zhifu.terminal.chip import CardRefusedError, ChipSession
from zhifu.terminal.download.kernel import kernel_options
from zhifu.terminal.flow import DEFAULT_KERNEL, Card, PinSource, Steps
from zhifu.terminal.link import Exchanger, HostLink, NoAnswerError, parse_address
from zhifu.terminal.management import ALGORITHMS, ManagementFlow
from zhifu.terminal.result import TransactionResult
from zhifu.terminal.state import TerminalState, open_hsm

__all__ = ["Terminal", "form_tmk"]

T = TypeVar("T")


def form_tmk(
    folder: Path | str, components: Sequence[str], kcvs: Sequence[str] = (), *,
    algorithm: str = "3des", tmk_kcv: str | None = None,
) -> str:  # fmt: skip
    """Form the TMK in the folder's security module from its printed components (hex).

    Each component is checked against its printed check value when ``kcvs`` gives them, the
    whole key against ``tmk_kcv``; a mismatch stores nothing. Returns the TMK's handle.
    """
    if algorithm not in ALGORITHMS:
        raise UsageError(f"choose from {', '.join(ALGORITHMS)}", argument="--algorithm")
    if len(components) not in (2, 3):
        raise UsageError("give the TMK's two (or three) components", argument="--tmk-component")
    if kcvs and len(kcvs) != len(components):
        raise UsageError("give one check value per component", argument="--tmk-kcv")
    key_algorithm, _ = ALGORITHMS[algorithm]
    parts = []
    for number, text in enumerate(components):
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise UsageError("a component is hex digits", argument="--tmk-component") from None
        if len(raw) not in key_algorithm.key_lengths:
            sizes = " or ".join(str(2 * n) for n in key_algorithm.key_lengths)
            raise UsageError(f"a component is {sizes} hex digits", argument="--tmk-component")
        own = compute_kcv(key_algorithm.cipher, raw).hex().upper()
        parts.append(KeyComponent(KeyMaterial(raw), kcvs[number] if kcvs else own))
    hsm = open_hsm(folder)
    try:
        return hsm.form_key_from_components(
            parts, KeyUsage.KEK, key_algorithm, kcv=tmk_kcv, label="TMK"
        ).id
    except KcvMismatchError as exc:
        option = "--tmk-kcv" if str(exc).startswith("component") else "--tmk-check"
        raise UsageError(str(exc), argument=option) from None
    finally:
        hsm.store.close()


class Terminal(ManagementFlow):
    """A software POS terminal over a state folder, on a blocking TCP connection."""

    def __init__(self, folder: Path | str, *, timeout: float = 10.0) -> None:
        self.state = TerminalState.load(folder)
        self.hsm = open_hsm(folder)
        self.kernel = kernel_options(folder, DEFAULT_KERNEL)  # with what downloads brought
        self.timeout = timeout
        self.tls: ssl.SSLContext | None = None  # TLS to the host (zhifu.security.pki)
        self._link: HostLink | None = None
        self.relay: Exchanger | None = None  # set: the frames go through it (a phone)
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the connection and the key store."""
        if self._link is not None:
            self._link.close()
        self.hsm.store.close()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def init(
        cls, folder: Path | str, merchant_id: str, terminal_id: str, components: Sequence[str],
        *, kcvs: Sequence[str] = (), tmk_kcv: str | None = None, algorithm: str = "3des",
        host: str = "",
    ) -> Terminal:  # fmt: skip
        """Create the state folder and form the TMK from its printed components (hex)."""
        if len(terminal_id) != 8 or not (terminal_id.isascii() and terminal_id.isprintable()):
            raise UsageError("a terminal id is 8 printable characters", argument="--terminal")
        if len(merchant_id) != 15 or not (merchant_id.isascii() and merchant_id.isprintable()):
            raise UsageError("a merchant id is 15 printable characters", argument="--merchant")
        if host:
            parse_address(host)
        root = Path(folder)
        if (root / "state.json").exists():
            raise UsageError(f"{root} already holds a terminal", argument="--state")
        new = not root.exists()
        try:
            tmk = form_tmk(root, components, kcvs, algorithm=algorithm, tmk_kcv=tmk_kcv)
            TerminalState(root, merchant_id, terminal_id, tmk, algorithm, host).save()
        except BaseException:
            if new:  # a refused init leaves nothing behind
                shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(root)

    # ------------------------------------------------------------------ the carrier

    def link(self, host: str | None = None) -> Exchanger:
        """The connection to ``host`` (``HOST:PORT``; default: the one saved at sign-on), or
        the relay when one is set (a phone carries the frames)."""
        if self.relay is not None:
            return self.relay
        chosen = host or self.state.host
        if not chosen:
            raise UsageError("no host yet: give --host HOST:PORT", argument="--host")
        if self._link is None or host:
            if self._link is not None:
                self._link.close()
            self._link = HostLink(parse_address(chosen), self.timeout, tls=self.tls)
            self.state.host = chosen
        return self._link

    def _run(self, steps: Steps[T]) -> T:
        with self._lock:
            try:
                request, body = next(steps)
                while True:
                    try:
                        reply: Any = self.link().exchange(request, body)
                    except NoAnswerError as exc:
                        reply = exc
                    request, body = steps.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result

    # ------------------------------------------------------------------ management

    def sign_on(self, host: str | None = None) -> Message:
        """0800: new working keys and batch (NoAnswerError when the host does not answer)."""
        with self._lock:
            self.link(host)
            return self._run(self._sign_on_steps())

    def echo(self, host: str | None = None) -> Message:
        """0820 echo test (NoAnswerError when the host does not answer)."""
        with self._lock:
            self.link(host)
            return self._run(self._echo_steps())

    def send_pending_reversal(self) -> bool | None:
        """Send the pending reversal; True when the host took it, None when none is pending."""
        return self._run(self._reversal_steps())

    def upload_offline(self) -> tuple[int, int]:
        """Send the offline approvals kept (60.1 = 36): (sent, still kept)."""
        return self._run(self._upload_steps())

    def settle(self) -> dict[str, Any]:
        """0500 with the batch's totals (see :mod:`~zhifu.terminal.management`)."""
        return self._run(self._settle_steps())

    # ------------------------------------------------------------------ card transactions

    def transact(
        self, kind: str, card: Card, *, pin: PinSource | None = None, amount: int = 0,
        original: str | None = None, swipe: bool = False, tap: bool = False,
        fallback: bool = False,
    ) -> TransactionResult:  # fmt: skip
        """One card transaction of ``kind`` (a key of :data:`~zhifu.terminal.messages.SERVICES`);
        ``swipe`` reads the magnetic stripe (a chip card is told to be inserted), ``fallback``
        swipes a chip card whose chip failed (22 = 80x, 60.5 = 2), ``tap`` the contactless
        interface (qPBOC)."""
        steps = self._transaction_steps(
            kind,
            card,
            pin=pin,
            amount=amount,
            original=original,
            swipe=swipe,
            tap=tap,
            fallback=fallback,
        )
        return self._run(steps)

    def purchase(
        self, card: Card, pin: str | None, amount: int, *, swipe: bool = False
    ) -> TransactionResult:
        """A purchase of ``amount`` fen (chip and online PIN; ``swipe``: the stripe)."""
        return self.transact("purchase", card, pin=pin, amount=amount, swipe=swipe)

    def balance(self, card: Card, pin: str | None) -> TransactionResult:
        """A balance inquiry; the balance (fen) is in the result's ``balance``."""
        return self.transact("balance", card, pin=pin)

    def preauth(self, card: Card, pin: str | None, amount: int) -> TransactionResult:
        """A pre-authorisation: a hold of ``amount`` fen."""
        return self.transact("preauth", card, pin=pin, amount=amount)

    def ecash_load(self, card: Card, pin: str | None, amount: int) -> TransactionResult:
        """An e-cash load from the card's account (the issuer's script writes the balance)."""
        return self.transact("ecash-load", card, pin=pin, amount=amount)

    def ecash_balance(self, card: Card) -> TransactionResult:
        """The card's e-cash balance (GET DATA 9F79), read offline: nothing goes to the host."""
        with self._lock:
            chip = ChipSession(card)
            try:
                balance = chip.ecash_balance()
                masked = chip.facts().masked_pan
            except CardRefusedError as exc:
                return TransactionResult("ecash-balance", message=str(exc))
            finally:
                chip.close()
        return TransactionResult(
            "ecash-balance", approved=True, masked_pan=masked, balance=balance,
            entry="chip", message="e-cash balance read from the card",
        )  # fmt: skip

    def void(self, card: Card, original: str, pin: str | None = None) -> TransactionResult:
        """Void the purchase of STAN ``original`` in this batch."""
        return self.transact("void", card, pin=pin, original=original)

    def refund(self, card: Card, original: str, amount: int) -> TransactionResult:
        """Refund ``amount`` fen of the purchase of STAN ``original`` (an advice, 0220)."""
        return self.transact("refund", card, amount=amount, original=original)

    def complete(self, card: Card, original: str, amount: int = 0) -> TransactionResult:
        """Complete the pre-authorisation of STAN ``original`` (default: the amount held)."""
        return self.transact("complete", card, amount=amount, original=original)
