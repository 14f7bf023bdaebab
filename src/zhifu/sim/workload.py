"""The workload: terminals that take turns at purchases, balance inquiries, voids and refunds.

Each terminal is an :class:`Actor` that runs one operation at a time as the terminal's own step
generator (:mod:`zhifu.terminal.flow`): the simulation carries each request it yields through
the simulated network and sends back the answer, or the ``NoAnswerError`` of a timeout. So the
terminal's real rules apply: the reversal armed before a purchase leaves, sent at once when no
answer came and again before the next transaction until the host takes it; an advice (a
refund, 0220) tried twice.

A card is in one terminal at a time (the issuer's ATC rule would decline a cryptogram that
overtakes a later one of the same card, as it should).
The mix (per hundred): 60 purchases, 14 balance inquiries, 13 voids and 13 refunds of an
earlier approved purchase of the same terminal (a purchase when there is none to void or
refund). Amounts are 1 to 3,000 fen; every draw comes from the world's random source.

>>> import random
>>> op = choose(random.Random(5), 1, 0, [], free=[0, 2])
>>> op.kind, op.card in (0, 2), 1 <= op.amount <= 3000
('purchase', True, True)
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Final

from zhifu.iso8583 import Message
from zhifu.sim.world import PIN, SimCard
from zhifu.terminal import Terminal
from zhifu.terminal.flow import Steps
from zhifu.terminal.result import TransactionResult

__all__ = ["MAX_AMOUNT", "Actor", "Op", "choose"]

MAX_AMOUNT: Final = 3_000
_MIX: Final = (("purchase", 60), ("balance", 14), ("void", 13), ("refund", 13))


@dataclasses.dataclass
class Op:
    """One operation of a terminal and what it came to."""

    number: int
    terminal: int
    kind: str  # purchase, balance, void, refund; reversal (the pending one, when healing)
    card: int
    amount: int = 0
    original: Op | None = None
    result: TransactionResult | None = None
    taken: bool | None = None  # a reversal op: whether the host took it
    closed: bool = False  # a purchase: voided, refunded in full, or in doubt (no more ops)
    refunded: int = 0  # a purchase: what approved refunds gave back

    @property
    def stan(self) -> str:
        """The STAN the terminal gave the request ('' when none left)."""
        return self.result.stan if self.result is not None else ""

    @property
    def approved(self) -> bool:
        """The terminal was told approved (and did not reverse it)."""
        return self.result is not None and self.result.approved

    @property
    def answered(self) -> bool:
        """The host's answer reached the terminal."""
        return self.result is not None and self.result.answered

    def outcome(self) -> str:
        """The deterministic part of the result, for the event log."""
        if self.kind == "reversal":
            return f"reversal taken={self.taken}"
        result = self.result
        assert result is not None
        flags = "".join(
            mark for mark, on in (("R", result.reversed), ("P", result.reversal_pending)) if on
        )
        return f"{self.kind} stan={result.stan or '-'} rc={result.response_code or '-'} {flags}"


def choose(
    rng: random.Random, number: int, terminal: int, done: list[Op], *, free: list[int]
) -> Op:
    """The next operation of a terminal whose finished operations are ``done``, with one of
    the ``free`` cards (those no other terminal holds: a card is in one reader at a time)."""
    roll, pick_card, amount, pick = (
        rng.randrange(100),
        rng.random(),
        rng.randint(1, MAX_AMOUNT),
        rng.random(),
    )
    card = free[int(pick_card * len(free))]
    kind = _kind_of(roll)
    targets = [
        op for op in done
        if op.kind == "purchase" and op.approved and not op.closed and op.card in free
    ]  # fmt: skip
    if kind in ("void", "refund") and targets:
        original = targets[int(pick * len(targets))]
        if kind == "void" and original.refunded == 0:
            return Op(number, terminal, "void", original.card, original.amount, original)
        left = original.amount - original.refunded
        return Op(number, terminal, "refund", original.card, 1 + (amount - 1) % left, original)
    if kind == "balance":
        return Op(number, terminal, "balance", card)
    return Op(number, terminal, "purchase", card, amount)


def _kind_of(roll: int) -> str:
    for kind, weight in _MIX:
        if roll < weight:
            return kind
        roll -= weight
    return "purchase"


class Actor:
    """A terminal of the run: its current operation and the exchange it waits on."""

    def __init__(self, index: int, terminal: Terminal) -> None:
        self.index = index
        self.terminal = terminal
        self.op: Op | None = None
        self.steps: Steps[Any] | None = None
        self.exchange = 0
        self.waiting = False
        self.request: Message | None = None
        self.body: bytes | None = None
        self.done: list[Op] = []

    @property
    def busy(self) -> bool:
        """An operation is under way."""
        return self.op is not None

    def begin(self, op: Op, cards: list[SimCard]) -> Steps[Any]:
        """Start ``op``: the terminal's steps for it."""
        self.op = op
        term = self.terminal
        if op.kind == "reversal":
            self.steps = term._reversal_steps()
        else:
            card = cards[op.card].path
            original = op.original.stan if op.original is not None else None
            pin = PIN if op.kind in ("purchase", "balance") else None
            self.steps = term._transaction_steps(
                op.kind, card, pin=pin, amount=0 if op.kind in ("balance", "void") else op.amount,
                original=original, swipe=False,
            )  # fmt: skip
        return self.steps

    def finish(self, value: Any) -> Op:
        """The steps returned ``value``: the operation is done."""
        op = self.op
        assert op is not None
        if op.kind == "reversal":
            op.taken = bool(value)
        else:
            assert isinstance(value, TransactionResult)
            op.result = value
            _mark_original(op)
        self.done.append(op)
        self.op, self.steps, self.request, self.body = None, None, None, None
        return op

    @property
    def reversal_pending(self) -> bool:
        """The terminal keeps a reversal the host has not taken."""
        return self.terminal.state.pending_reversal is not None


def _mark_original(op: Op) -> None:
    """A void or refund closes its original for further ones (approved or in doubt)."""
    original = op.original
    if original is None:
        return
    if op.kind == "refund" and op.approved:
        original.refunded += op.amount
        original.closed = original.refunded >= original.amount
    elif op.kind == "void" and op.approved:
        original.closed = True
    elif op.stan and not op.answered:
        original.closed = True  # in doubt: no more voids or refunds of it
