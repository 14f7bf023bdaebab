"""The financial participant: one card transaction from request to recorded answer.

In order: the batch of 60.2 must be the terminal's (``77``); a recorded answer for the same
id is given again (``94`` when the content differs), without asking the issuer; a request
whose reversal came first is declined (``12``); a chip card swiped without fallback is told to
use its chip (``45``); then the issuer decides, the acquirer posts the merchant's side of an
approval, and the answer is recorded. Should anything fail on the way (a write, the issuer), the
transaction is reversed at the issuer and the reversal recorded before the host answers ``96``:
no fen moves for a transaction the terminal was told failed, and a retransmission of it is
declined (``12``) rather than decided again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.payments.card_data import (
    CardDataError,
    authorization_request,
    card_data,
    pin_data,
)
from zhifu.acquirer.payments.postings import Books
from zhifu.acquirer.payments.store import CardTxn, PaymentStore, digest_of
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.services import Services
from zhifu.codec.pan import mask_pan
from zhifu.codec.tlv import Tlv
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import DecodeError
from zhifu.iso8583.fields_55 import build_icc_data
from zhifu.iso8583.fields_pos import parse_field_61
from zhifu.issuer.link import (
    AuthorizationResponse,
    IssuerLink,
    Kind,
    ReversalRequest,
    transaction_id,
)
from zhifu.ledger.ids import derive_id
from zhifu.security.keys import KeyHandle

__all__ = ["Pay", "original_of", "recover_in_doubt", "rrn_of", "txn_id_of"]

log = logging.getLogger("zhifu.acquirer.payments")
_CHIP_SERVICE = ("2", "6")
_ASSESSED = frozenset({Kind.PURCHASE, Kind.PREAUTH})


def txn_id_of(ctx: TxnContext) -> str:
    """The transaction id of a request: terminal (41), batch (60.2), STAN (11)."""
    batch = ctx.field_60.batch if ctx.field_60 is not None else ""
    return transaction_id(ctx.request.get("41") or "", batch or "", ctx.request.get("11") or "")


def original_of(ctx: TxnContext) -> str | None:
    """The transaction id of the original named in field 61 (batch + STAN), or None.

    A field 61 that does not parse raises :class:`CardDataError` naming it (answered ``30``).
    """
    value = ctx.request.get("61")
    if not value:
        return None
    try:
        field = parse_field_61(value)
    except DecodeError as exc:
        raise CardDataError(f"field 61: {exc}", "61") from None
    return transaction_id(ctx.request.get("41") or "", field.orig_batch, field.orig_trace)


def rrn_of(txn_id: str) -> str:
    """The 12-digit retrieval reference number of a transaction (the same on a replay)."""
    return f"{derive_id('acquirer', 'rrn', txn_id) % 10**12:012d}"


def _balance_field(amount: int) -> str:
    """Field 54: account type 10, amount type 02 (available), CNY, sign, 12 digits."""
    return f"1002156{'C' if amount >= 0 else 'D'}{abs(amount):012d}"


class Pay(BaseParticipant):
    """A card transaction of one :class:`~zhifu.issuer.link.Kind`."""

    def __init__(self, services: Services, kind: Kind, store: PaymentStore, books: Books,
                 zpk: KeyHandle) -> None:  # fmt: skip
        assert services.issuer is not None
        self._services, self._kind, self._store, self._books = services, kind, store, books
        self._issuer: IssuerLink = services.issuer
        self._zpk = zpk

    @property
    def name(self) -> str:
        """``Pay(purchase)``."""
        return f"Pay({self._kind.value})"

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Decide and record; ABORTED (after ``ctx.fail``) for every decline."""
        terminal = ctx.terminal
        assert terminal is not None
        batch = ctx.field_60.batch if ctx.field_60 is not None else None
        if batch != terminal.batch:
            ctx.fail(Result.BATCH_MISMATCH, "field 60.2 is not the terminal's batch")
            return Verdict.ABORTED
        txn_id = txn_id_of(ctx)
        with self._store.lock_for(txn_id):
            return self._decide(ctx, txn_id)

    def _decide(self, ctx: TxnContext, txn_id: str) -> Verdict:
        digest = digest_of(self._kind.value, ctx.request)
        earlier = self._store.get(txn_id)
        if earlier is not None:
            return self._again(ctx, earlier, digest)
        if self._store.reversal(txn_id) is not None:
            ctx.fail(Result.INVALID_TRANSACTION, "this transaction was reversed before it came")
            return Verdict.ABORTED
        return self._new(ctx, txn_id, digest)

    def _again(self, ctx: TxnContext, earlier: CardTxn, digest: str) -> Verdict:
        if earlier.digest != digest:
            ctx.fail(Result.DUPLICATE, "the STAN was used for another transaction")
            return Verdict.ABORTED
        ctx.note("duplicate: the recorded answer")
        return self._answer(ctx, earlier.field_39, earlier.answer)

    def _answer(self, ctx: TxnContext, code: str, fields: dict[str, str]) -> Verdict:
        ctx.answer_fields.update(fields)
        if code != "00":
            ctx.fail(Result.of(code), "declined by the issuer")
            return Verdict.ABORTED
        return Verdict.PREPARED

    def _new(self, ctx: TxnContext, txn_id: str, digest: str) -> Verdict:
        terminal, hsm = ctx.terminal, self._services.hsm
        assert terminal is not None
        try:
            card = card_data(ctx.request, hsm, terminal)
            if _swiped_chip(ctx, card.service_code):
                ctx.fail(Result.FALLBACK_NOT_ALLOWED, "a chip card was swiped: insert the chip")
                return Verdict.ABORTED
            pin = pin_data(ctx.request, hsm, terminal, card.pan, self._zpk)
            original = original_of(ctx)
        except CardDataError as exc:
            result = Result.SECURITY_FAILED if exc.security else Result.FORMAT_ERROR
            ctx.fail(result, f"field {exc.field}: {exc}")
            return Verdict.ABORTED
        try:
            if not self._risk_allows(ctx, card.pan, with_pin=pin is not None):
                return Verdict.ABORTED
            request = authorization_request(
                self._kind, txn_id, ctx.request, card, pin=pin, original_id=original
            )
            self._store.in_doubt(txn_id, datetime.now(SHANGHAI))
            answer = self._issuer.authorize(request)
            fields = self._fields(ctx, txn_id, answer)
            if answer.approved and not self._books.post_approval(
                self._kind, txn_id, terminal.merchant_id, request.amount
            ):
                raise RuntimeError("the merchant posting was refused")
            now = datetime.now(SHANGHAI)
            self._store.record(CardTxn(
                txn_id, terminal.terminal_id, terminal.merchant_id, terminal.batch,
                ctx.request.get("11") or "", self._kind.value, request.amount, digest,
                answer.field_39, fields, original, mask_pan(card.pan), now.strftime("%Y%m%d"),
            ), now)  # fmt: skip
        except Exception:
            self._abandon(txn_id)
            raise
        return self._answer(ctx, answer.field_39, fields)

    def _risk_allows(self, ctx: TxnContext, pan: str, *, with_pin: bool) -> bool:
        """The risk rules' say on a purchase or pre-authorisation (``34`` when they refuse)."""
        risk = self._services.risk
        if risk is None or self._kind not in _ASSESSED:
            return True
        amount = int(ctx.request.get("4") or 0)
        return risk.before_authorisation(ctx, pan=pan, amount=amount, with_pin=with_pin)

    def _abandon(self, txn_id: str) -> None:
        """Undo what a failure left of a transaction the terminal is told failed (``96``), as
        the recovery at start does: reversed at the issuer (whatever it decided, or posted
        without an answer), the merchant's posting reversed, and the reversal recorded, so
        that a retransmission of the same request is declined (``12``) instead of decided
        again. What cannot be written now stays in doubt for the next start."""
        log.error("undoing %s: the host could not complete it", txn_id)
        try:
            answer = self._issuer.reverse(ReversalRequest(txn_id, "96"))
            self._books.reverse_posting(txn_id)
            now = datetime.now(SHANGHAI)
            self._store.record_reversal(txn_id, "00" if answer.found else "25", now)
            self._store.clear_doubt(txn_id)
        except Exception:
            log.exception("%s stays in doubt: it is reversed at the next start", txn_id)

    def _fields(
        self, ctx: TxnContext, txn_id: str, answer: AuthorizationResponse
    ) -> dict[str, str]:
        now = datetime.now(SHANGHAI)
        fields = {"37": rrn_of(txn_id), "12": now.strftime("%H%M%S"), "13": now.strftime("%m%d")}
        if answer.auth_code:
            fields["38"] = answer.auth_code
        if answer.icc:
            fields["55"] = build_icc_data(Tlv(tag, value) for tag, value in answer.icc.items())
        if self._kind is Kind.BALANCE and answer.available is not None and answer.approved:
            fields["54"] = _balance_field(answer.available)
        return fields


def recover_in_doubt(store: PaymentStore, issuer: IssuerLink, books: Books) -> list[str]:
    """Reverse what a crash left between the issuer's answer and the acquirer's record.

    The terminal never got an answer for these (the host answers only after recording), so
    it reverses them anyway; the host does it first, so that nothing stays posted without a
    recorded answer. A reversal is recorded for each, which also declines a late
    retransmission (``12``). Returns the transaction ids.
    """
    reversed_ids = store.left_in_doubt()
    for txn_id in reversed_ids:
        answer = issuer.reverse(ReversalRequest(txn_id, "96"))
        books.reverse_posting(txn_id)
        store.record_reversal(txn_id, "00" if answer.found else "25", datetime.now(SHANGHAI))
        store.clear_doubt(txn_id)
    if reversed_ids:
        log.warning("at start: reversed %d card transactions a crash left unanswered",
                    len(reversed_ids))  # fmt: skip
    return reversed_ids


def _swiped_chip(ctx: TxnContext, service_code: str | None) -> bool:
    """True for a magstripe read (22 = 02x) of a chip card (service code 2xx / 6xx)."""
    mode = ctx.request.get("22") or ""
    return mode.startswith("02") and service_code is not None and service_code[:1] in _CHIP_SERVICE
