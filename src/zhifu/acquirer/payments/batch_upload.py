"""The host's side of the batch upload (0320): each record checked against what it holds.

A record names its original by the terminal (41), the batch (60.2) and the STAN (11, or each
record's STAN in field 48 for ``201``): the host answers ``25`` when it holds no approved
transaction so named, ``64`` when the amount differs, and ``00`` when it agrees; a TC uploaded
with ``203`` goes to the issuer as an advice (the card's final cryptogram). The ends (``202``,
``207``) carry the count in field 48 and are acknowledged. Nothing moves money.
"""

from __future__ import annotations

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.payments.pay import txn_id_of
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.core.errors import DecodeError
from zhifu.iso8583.batch_records import parse_records
from zhifu.iso8583.fields_55 import parse_icc_data
from zhifu.issuer import transaction_id
from zhifu.issuer.link import IssuerLink

__all__ = ["BatchUpload"]

_RECORDS = ("201", "203", "204", "205")
_ENDS = ("202", "207")


class BatchUpload(BaseParticipant):
    """Answer a 0320: a record checked against the host's transactions, or an end."""

    def __init__(self, store: PaymentStore, issuer: IssuerLink) -> None:
        self._store, self._issuer = store, issuer

    def prepare(self, ctx: TxnContext) -> Verdict:
        """PREPARED when the record agrees (or for an end); ``25``/``64``/``30`` otherwise."""
        code = ctx.network_code
        ctx.note(f"batch upload {code}")
        try:
            if code in _ENDS:
                count = ctx.request.get("48") or ""
                if len(count) != 4 or not count.isdigit():
                    raise DecodeError("the end carries the count, n4", field="48")
                return Verdict.PREPARED
            if code not in _RECORDS:
                raise DecodeError(f"60.3 {code} is no batch upload", field="60")
            checks = self._records(ctx)
        except DecodeError as exc:
            ctx.fail(Result.FORMAT_ERROR, str(exc))
            return Verdict.ABORTED
        for txn_id, amount in checks:
            found = self._store.get(txn_id)
            if found is None or found.field_39 != "00":
                ctx.fail(Result.ORIGINAL_NOT_FOUND, "no such approved transaction in the batch")
                return Verdict.ABORTED
            if found.amount != amount:
                ctx.fail(Result.AMOUNT_MISMATCH, "the uploaded amount differs")
                return Verdict.ABORTED
        if code == "203" and ctx.request.get("55"):
            icc = {t.tag: t.value for t in parse_icc_data(ctx.request["55"])}
            self._issuer.advise(checks[0][0], icc)
        return Verdict.PREPARED

    @staticmethod
    def _records(ctx: TxnContext) -> list[tuple[str, int]]:
        """(transaction id, amount) of each record the message carries."""
        amount = ctx.request.get("4") or ""
        if ctx.network_code != "201":
            if not amount.isdigit():
                raise DecodeError("an IC record carries its amount", field="4")
            return [(txn_id_of(ctx), int(amount))]
        batch = (ctx.field_60.batch if ctx.field_60 is not None else "") or ""
        terminal = ctx.request.get("41") or ""
        records = parse_records(ctx.request.get("48") or "")
        return [(transaction_id(terminal, batch, r.stan), r.amount) for r in records]
