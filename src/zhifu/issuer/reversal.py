"""Reversal (0400) at the issuer: undo exactly what the original did, at most once.

A reversal is recorded under its original's id. When the original was approved, the undoing
transfers have ids derived from the original's id, so a repeated 0400 (or a retry after a
crash) finds them done and moves nothing more. A reversal of an unknown or declined original
posts nothing; it is recorded all the same, so that the original, should it arrive later,
is declined (``12``) instead of posted.

What is undone, by the original's kind: a purchase or offline sale, a completion → the amount
back to the card; a pre-authorisation → its hold voided (not once completed); a void → the
amount taken again; an e-cash load → the amount back from the e-cash pool, and its void the
other way; a refund → the amount taken back (a terminal never reverses a refund, an advice, but
the acquirer does when it could not complete one: a crash, a failed write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhifu.issuer import funds
from zhifu.issuer.link import Kind, ReversalRequest, ReversalResponse
from zhifu.issuer.store import Answer, CardRecord
from zhifu.ledger import CreateTransferResult, Transfer

if TYPE_CHECKING:
    from zhifu.issuer.service import Issuer

__all__ = ["reverse"]


def reverse(issuer: Issuer, request: ReversalRequest) -> ReversalResponse:
    """Reverse ``request.original_id`` (see the module text)."""
    original_id = request.original_id
    store = issuer.store
    first_look = store.answer(original_id)
    with issuer.locked(original_id, first_look.pan_key if first_look else ""):
        original = store.answer(original_id)
        approved = original is not None and original.field_39 == "00"
        card = store.card(original.pan_key) if original is not None else None
        if original is None and _orphan(issuer, original_id):
            store.record_reversal(original_id, True)
            return ReversalResponse(original_id, "00", undone=True, found=True)
        if not approved or card is None or original is None:
            store.record_reversal(original_id, False)
            return ReversalResponse(original_id, "00", undone=False, found=False)
        seen = store.reversal(original_id)
        ok = _undo(issuer, original, card)
        first = store.record_reversal(original_id, ok)
        return ReversalResponse(original_id, "00", undone=ok and first and seen is None, found=True)


_STEPS = ("purchase", "hold", "completion", "return", "ecash", "ecash-void")


def _orphan(issuer: Issuer, original_id: str) -> bool:
    """Undo a posting a crash left without its answer row; True when there was one."""
    ids = [funds.transfer_id(step, original_id) for step in _STEPS]
    found = {t.id: t for t in issuer.ledger.lookup_transfers(ids)}
    for step, tid in zip(_STEPS, ids, strict=True):
        transfer = found.get(tid)
        if transfer is None:
            continue
        if step == "hold":
            undo = funds.settle_hold("reversal", original_id, original_id, 0, post_it=False)
        else:
            route = (transfer.credit_account_id, transfer.debit_account_id, transfer.code)
            undo = funds.movement("reversal", original_id, route, transfer.amount)
        return funds.post(issuer.ledger, undo) is CreateTransferResult.OK
    return False


def _undo(issuer: Issuer, original: Answer, card: CardRecord) -> bool:
    """Post the undoing transfer(s); True when the original's effect is undone."""
    transfer = _undoing(original, card)
    if transfer is None:
        return False
    result = funds.post(issuer.ledger, transfer)
    done = result is CreateTransferResult.OK
    if done and Kind(original.kind) in (
        Kind.PURCHASE_VOID,
        Kind.COMPLETION_VOID,
        Kind.ECASH_LOAD_VOID,
        Kind.REFUND,
    ):
        issuer.store.add_refunded(original.original_id or "", -original.amount)
    return done


def _undoing(original: Answer, card: CardRecord) -> Transfer | None:
    kind, oid, amount = Kind(original.kind), original.id, original.amount
    clearing, account, pool = funds.ISSUER_CLEARING, card.account, card.ecash_account
    moves = {
        Kind.PURCHASE: (clearing, account, funds.CODE_RETURN),
        Kind.OFFLINE_SALE: (clearing, account, funds.CODE_RETURN),
        Kind.COMPLETION: (clearing, account, funds.CODE_RETURN),
        Kind.PURCHASE_VOID: (account, clearing, funds.CODE_PURCHASE),
        Kind.REFUND: (account, clearing, funds.CODE_PURCHASE),
        Kind.COMPLETION_VOID: (account, clearing, funds.CODE_PURCHASE),
        Kind.ECASH_LOAD: (pool, account, funds.CODE_ECASH),
        Kind.ECASH_LOAD_VOID: (account, pool, funds.CODE_ECASH),
    }
    if kind is Kind.PREAUTH:
        return funds.settle_hold("reversal", oid, oid, 0, post_it=False)
    if kind not in moves:
        return None
    debit, credit, code = moves[kind]
    return funds.movement("reversal", oid, (debit, credit, code), amount)
