"""Batch settlement (0500), batch upload (0320) and script advice (0620).

0500: the host adds up the terminal's batch from its own records — debits are approved
purchases, completions and offline sales, credits approved voids, refunds and completion voids,
none of them reversed — and answers field 48 with the reconciliation digit ``1`` (the totals
agree) or ``2`` (they do not: the terminal uploads its batch). When they agree the batch is
settled: the merchant is paid its net less the fee (``AcquirerConfig.merchant_fee_bp``) and a
line goes to the merchant's CSV settlement file of the day (``docs/acquirer.md``).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.payments.card_data import CardDataError
from zhifu.acquirer.payments.kinds import MERCHANT_CREDITS, MERCHANT_DEBITS
from zhifu.acquirer.payments.pay import original_of, txn_id_of
from zhifu.acquirer.payments.postings import Books
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import DecodeError
from zhifu.core.files import private_folder
from zhifu.iso8583.fields_48 import Settlement, Totals, build_settlement, parse_settlement
from zhifu.iso8583.fields_55 import parse_icc_data
from zhifu.issuer.link import IssuerLink, Kind

__all__ = ["ScriptAdvice", "Settle", "batch_totals", "fee_of"]

CSV_HEADER = ("date", "merchant", "terminal", "batch", "debits", "debit_count", "credits",
              "credit_count", "net", "fee", "paid")  # fmt: skip


def fee_of(net: int, fee_bp: int) -> int:
    """The merchant fee on a positive ``net`` at ``fee_bp`` basis points, rounded half up."""
    return (net * fee_bp + 5_000) // 10_000 if net > 0 else 0


def batch_totals(store: PaymentStore, terminal: str, batch: str) -> Totals:
    """Debits and credits of a batch from the host's records."""
    rows = [t for t in store.batch(terminal, batch) if t.field_39 == "00"]
    reversed_ids = store.reversed_ids([t.id for t in rows])
    live = [t for t in rows if t.id not in reversed_ids]
    debits = [t for t in live if Kind(t.kind) in MERCHANT_CREDITS]
    credits = [t for t in live if Kind(t.kind) in MERCHANT_DEBITS]
    return Totals(sum(t.amount for t in debits), len(debits),
                  sum(t.amount for t in credits), len(credits))  # fmt: skip


class Settle(BaseParticipant):
    """Answer a 0500 and settle an agreeing batch."""

    def __init__(self, store: PaymentStore, books: Books, fee_bp: int, folder: Path | None) -> None:
        self._store, self._books, self._fee_bp, self._folder = store, books, fee_bp, folder

    def prepare(self, ctx: TxnContext) -> Verdict:
        """PREPARED (the answer says whether the totals agree)."""
        terminal = ctx.terminal
        assert terminal is not None
        try:
            theirs = parse_settlement(ctx.request.get("48") or "")
        except DecodeError as exc:
            ctx.fail(Result.FORMAT_ERROR, f"field 48: {exc}")
            return Verdict.ABORTED
        batch = (ctx.field_60.batch if ctx.field_60 else None) or terminal.batch
        ours = batch_totals(self._store, terminal.terminal_id, batch)
        domestic = theirs.domestic
        agree = (domestic.debit_amount, domestic.debit_count, domestic.credit_amount,
                 domestic.credit_count) == (ours.debit_amount, ours.debit_count,
                                            ours.credit_amount, ours.credit_count)  # fmt: skip
        answer = Settlement(
            _with_result(domestic, "1" if agree else "2"), _with_result(theirs.foreign, "1")
        )
        ctx.answer_fields["48"] = build_settlement(answer)
        if agree and not self._store.settled(terminal.terminal_id, batch):
            self._settle(terminal.merchant_id, terminal.terminal_id, batch, ours)
        return Verdict.PREPARED

    def _settle(self, merchant: str, terminal: str, batch: str, totals: Totals) -> None:
        net = totals.debit_amount - totals.credit_amount
        fee = fee_of(net, self._fee_bp)
        key = f"{terminal}-{batch}"
        if not self._books.settle_batch(key, merchant, net, fee):
            raise RuntimeError(f"the settlement of batch {key} was refused by the ledger")
        now = datetime.now(SHANGHAI)
        self._store.record_batch(
            terminal, batch, merchant, balanced=True, net=net, fee=fee, now=now
        )
        if self._folder is not None:
            _write_csv(self._folder, now, (merchant, terminal, batch), totals, fee)


def _with_result(totals: Totals, digit: str) -> Totals:
    return Totals(totals.debit_amount, totals.debit_count, totals.credit_amount,
                  totals.credit_count, digit)  # fmt: skip


def _write_csv(
    folder: Path, now: datetime, row: tuple[str, str, str], totals: Totals, fee: int
) -> None:
    merchant, terminal, batch = row
    net = totals.debit_amount - totals.credit_amount
    day = now.strftime("%Y%m%d")
    path = private_folder(folder) / f"{merchant}-{day}.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not path.exists():
        writer.writerow(CSV_HEADER)
    writer.writerow((day, merchant, terminal, batch, _yuan(totals.debit_amount),
                     totals.debit_count, _yuan(totals.credit_amount), totals.credit_count,
                     _yuan(net), _yuan(fee), _yuan(net - fee)))  # fmt: skip
    with path.open("a", encoding="utf-8") as out:
        out.write(buffer.getvalue())
    path.chmod(0o600)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


class ScriptAdvice(BaseParticipant):
    """Answer a 0620 script result advice; the issuer keeps the result (DF31)."""

    def __init__(self, issuer: IssuerLink) -> None:
        self._issuer = issuer

    def prepare(self, ctx: TxnContext) -> Verdict:
        """PREPARED (a malformed field 55: ``30``)."""
        try:
            icc = {t.tag: t.value for t in parse_icc_data(ctx.request.get("55") or "")}
            original = original_of(ctx)
        except (DecodeError, CardDataError) as exc:
            ctx.fail(Result.FORMAT_ERROR, f"unreadable advice: {exc}")
            return Verdict.ABORTED
        self._issuer.advise(original or txn_id_of(ctx), icc)
        return Verdict.PREPARED
