"""The simulated world's parts: the acquirer host on files, its issuer and ledger, the terminals
and the cards, and the frames between a terminal's steps and the host.

The host runs on SQLite files in the run's folder (:meth:`AcquirerHost.open`), so a crash is
"stop here, close, open again from the same files" and the host's recovery runs as after a
real restart. Its key store's LMK is random per run: no key, PAN or cryptogram enters the
event log, only what the seed decides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from pathlib import Path
from typing import Final

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.host import AcquirerHost
from zhifu.acquirer.payments.postings import merchant_accounts
from zhifu.acquirer.registry import register_terminal
from zhifu.core.clock import Clock
from zhifu.core.errors import DecodeError
from zhifu.iso8583 import Message
from zhifu.iso8583.codec import decode
from zhifu.iso8583.framing import unframe_body
from zhifu.issuer import Issuer
from zhifu.ledger import Ledger
from zhifu.terminal import Terminal
from zhifu.terminal.flow import Reply
from zhifu.terminal.link import NoAnswerError, RelayLink

__all__ = ["MERCHANT", "PIN", "SimCard", "World", "field_of", "frame_of", "reply_of"]

MERCHANT: Final = "898100012345678"
PIN: Final = "1234"


@dataclasses.dataclass(frozen=True)
class SimCard:
    """A card of the run: its chip file, masked PAN, ledger account and opening balance."""

    number: int
    path: Path
    masked_pan: str
    account: int
    opening: int


class World:
    """The host (reopened after each crash), the terminals and the cards of one run."""

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = folder
        self.clock = clock
        home = folder / "var"
        self.config = dataclasses.replace(AcquirerConfig.local(home, port=0), risk="monitor")
        # random per run and never logged: nothing the seed decides depends on key values
        self.environ = {"ZHIFU_LMK": secrets.token_hex(32).upper()}
        self.host: AcquirerHost | None = None
        self.cards: list[SimCard] = []
        self.terminals: list[Terminal] = []
        self.restarts = 0

    # ------------------------------------------------------------------ the host

    def open_host(self) -> AcquirerHost:
        """Open the host on the run's files (its recovery runs)."""
        self.host = AcquirerHost.open(self.config, environ=self.environ, clock=self.clock)
        return self.host

    def crash(self) -> None:
        """The host's process died: what it committed stays, the rest is gone."""
        if self.host is not None:
            self.host.close()
            self.host = None

    def restart(self) -> AcquirerHost:
        """Open the host again after a crash (or a clean stop)."""
        self.crash()
        self.restarts += 1
        return self.open_host()

    def live(self) -> AcquirerHost:
        """The running host (the caller knows it runs)."""
        assert self.host is not None
        return self.host

    @property
    def issuer(self) -> Issuer:
        """The host's in-process issuer."""
        issuer = self.live().services.issuer
        assert isinstance(issuer, Issuer)
        return issuer

    @property
    def ledger(self) -> Ledger:
        """The ledger shared by the issuer and the acquirer."""
        ledger = self.live().services.ledger
        assert ledger is not None
        return ledger

    # ------------------------------------------------------------------ set-up

    def issue_cards(self, count: int, opening: int) -> None:
        """Issue ``count`` debit cards of ``opening`` fen each."""
        for number in range(count):
            path = self.folder / f"card-{number}.json"
            issued = self.issuer.issue_card("debit", opening, PIN, path)
            self.cards.append(SimCard(number, path, issued.masked_pan, issued.account, opening))

    def add_terminals(self, count: int) -> None:
        """Register ``count`` terminals of one merchant and sign each on (a fault-free wire)."""
        host = self.live()
        services = host.services
        for number in range(count):
            tid = f"{10_000_001 + number:08d}"
            reg = register_terminal(services.registry, services.hsm, MERCHANT, tid)
            parts = [c.material.reveal().hex() for c in reg.components]
            term = Terminal.init(self.folder / f"term-{tid}", MERCHANT, tid, parts)
            term.relay = RelayLink(self._carry)
            answer = term.sign_on()
            term.relay = None
            if answer.get("39") != "00":
                raise RuntimeError(f"terminal {tid} could not sign on: {answer.get('39')}")
            self.terminals.append(term)

    def _carry(self, frame: bytes) -> bytes:
        reply = self.live().handle(frame[2:], peer="sign-on")
        if reply.frame is None:
            raise NoAnswerError("the host did not answer the sign-on")
        return reply.frame[2:]

    def close(self) -> None:
        """Close the terminals and the host."""
        for term in self.terminals:
            term.close()
        self.crash()

    # ------------------------------------------------------------------ the books

    def balance(self, card: SimCard) -> int:
        """A card's posted balance in the ledger (fen)."""
        account = self.ledger.lookup_accounts([card.account])[0]
        return account.credits_posted - account.debits_posted - account.debits_pending

    def merchant_pending(self) -> int:
        """The merchant's pending settlement (credits less debits, fen)."""
        found = self.ledger.lookup_accounts([merchant_accounts(MERCHANT)[0]])
        return found[0].credits_posted - found[0].debits_posted if found else 0


def frame_of(request: Message, body: bytes | None) -> bytes:
    """The whole frame (length, TPDU, header, message) a terminal sends for ``request``."""
    captured: list[bytes] = []

    def capture(frame: bytes) -> bytes:
        captured.append(frame)
        raise NoAnswerError("captured")

    with contextlib.suppress(NoAnswerError):
        RelayLink(capture).exchange(request, body)
    return captured[0]


def reply_of(request: Message, body: bytes | None, answer: bytes) -> Reply:
    """What the terminal's steps receive for ``answer`` (a frame body without its length):
    the response and its bytes, or the :class:`NoAnswerError` of a wrong answer."""
    try:
        return RelayLink(lambda _frame: answer).exchange(request, body)
    except NoAnswerError as exc:
        return exc


def field_of(answer: bytes, number: str) -> str:
    """A field of the message in a frame body without its length ('' when unreadable)."""
    try:
        return decode(unframe_body(answer).message).get(number) or ""
    except DecodeError:
        return ""
