"""Reversal (0400): undo a transaction's effect once, whatever order the messages come in.

The reversal names its original by the same terminal, batch and STAN. Outcomes (field 39 of
the 0410; docs/acquirer.md): ``00`` the original was approved and is now undone (or was
already); ``12`` the original was declined, nothing to undo; ``25`` no original is known —
the reversal is recorded first, so an original that comes later is declined. A repeated 0400
gets the answer of the first. The issuer is asked even when the acquirer has no record: a
crash may have cut the host off between the issuer's approval and its own record.
"""

from __future__ import annotations

from datetime import datetime

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.payments.pay import rrn_of, txn_id_of
from zhifu.acquirer.payments.postings import Books
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.services import Services
from zhifu.core.clock import SHANGHAI
from zhifu.issuer.link import IssuerLink, ReversalRequest

__all__ = ["Reverse"]


class Reverse(BaseParticipant):
    """Answer a 0400."""

    def __init__(self, services: Services, store: PaymentStore, books: Books) -> None:
        assert services.issuer is not None
        self._issuer: IssuerLink = services.issuer
        self._store, self._books = store, books

    def prepare(self, ctx: TxnContext) -> Verdict:
        """PREPARED with ``00``; ABORTED with ``12`` or ``25``."""
        txn_id = txn_id_of(ctx)
        with self._store.lock_for(txn_id):
            code = self._store.reversal(txn_id) or self._reverse(ctx, txn_id)
        ctx.answer_fields["37"] = rrn_of(txn_id)
        if code != "00":
            ctx.fail(Result.of(code), "nothing to reverse")
            return Verdict.ABORTED
        return Verdict.PREPARED

    def _reverse(self, ctx: TxnContext, txn_id: str) -> str:
        original = self._store.get(txn_id)
        if original is not None and original.field_39 != "00":
            code = "12"
        else:
            reason = ctx.request.get("39") or "98"
            answer = self._issuer.reverse(ReversalRequest(txn_id, reason))
            self._books.reverse_posting(txn_id)
            code = "00" if answer.found or original is not None else "25"
        return self._store.record_reversal(txn_id, code, datetime.now(SHANGHAI))
