"""The terminal check: field 41 must be registered (else ``97``), field 42 its merchant (else
``03``), and the terminal not blocked (else ``58``).

>>> from zhifu.acquirer.config import AcquirerConfig
>>> from zhifu.acquirer.context import TxnContext
>>> from zhifu.acquirer.database import Database
>>> from zhifu.acquirer.services import Services
>>> from zhifu.iso8583 import Frame, Header, Message, Tpdu
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> services = Services.build(AcquirerConfig(), Database(), SoftHsm(KeyStore.in_memory()))
>>> request = Message("0820", {"41": "10000001", "42": "898100012345678"})
>>> ctx = TxnContext.start(Frame(Tpdu(), Header(), b""), request)
>>> CheckTerminal(services).prepare(ctx), ctx.result.de39
(<Verdict.ABORTED: 'aborted'>, '97')
"""

from __future__ import annotations

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.registry import BLOCKED
from zhifu.acquirer.services import Services

__all__ = ["CheckTerminal"]


class CheckTerminal(BaseParticipant):
    """Find the terminal of field 41 and put it in the context."""

    def __init__(self, services: Services) -> None:
        self._registry = services.registry

    def prepare(self, ctx: TxnContext) -> Verdict:
        """NO_JOIN when the terminal may transact, else ABORTED."""
        terminal_id = ctx.request.get("41") or ""
        terminal = self._registry.terminal(terminal_id)
        if terminal is None:
            ctx.fail(Result.TERMINAL_UNKNOWN, f"terminal {terminal_id!r} is not registered")
            return Verdict.ABORTED
        ctx.terminal = terminal
        if ctx.request.get("42") != terminal.merchant_id:
            ctx.fail(Result.INVALID_MERCHANT, f"field 42 is not the merchant of {terminal_id}")
            return Verdict.ABORTED
        if terminal.status == BLOCKED:
            ctx.fail(Result.NOT_PERMITTED_ON_TERMINAL, f"terminal {terminal_id} is blocked")
            return Verdict.ABORTED
        return Verdict.NO_JOIN
