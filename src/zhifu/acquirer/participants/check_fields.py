"""Field presence checks (format error ``30``) and the answer to what no group handles (``40``).

>>> from zhifu.acquirer.context import TxnContext
>>> from zhifu.iso8583 import Frame, Header, Message, Tpdu
>>> ctx = TxnContext.start(Frame(Tpdu(), Header(), b""), Message("0820", {"41": "10000001"}))
>>> CheckFields(("41", "42", "60")).prepare(ctx), ctx.result.de39, ctx.reason
(<Verdict.ABORTED: 'aborted'>, '30', 'field 42 is missing')
"""

from __future__ import annotations

from collections.abc import Sequence

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.pipeline import BaseParticipant, Verdict

__all__ = ["CheckFields", "Unsupported"]


class CheckFields(BaseParticipant):
    """Abort with ``30`` when a required field is missing (or field 60 is malformed)."""

    def __init__(self, required: Sequence[str]) -> None:
        self._required = tuple(required)

    @property
    def name(self) -> str:
        """``CheckFields(41,42,60)``."""
        return f"CheckFields({','.join(self._required)})"

    def prepare(self, ctx: TxnContext) -> Verdict:
        """PREPARED when every required field is there."""
        for number in self._required:
            if number not in ctx.request:
                ctx.fail(Result.FORMAT_ERROR, f"field {number} is missing")
                return Verdict.ABORTED
        if "60" in self._required and ctx.field_60 is None:
            ctx.fail(Result.FORMAT_ERROR, "field 60 is malformed")
            return Verdict.ABORTED
        return Verdict.NO_JOIN


class Unsupported(BaseParticipant):
    """The last word of the unrouted group: function not supported (``40``)."""

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Always aborts."""
        key = ctx.route_key
        ctx.fail(
            Result.NOT_SUPPORTED,
            f"no group for MTI {key.mti} processing code {key.processing_code or '-'} "
            f"60.1 {key.txn_type or '-'} 60.3 {key.network_code or '-'}",
        )
        return Verdict.ABORTED
