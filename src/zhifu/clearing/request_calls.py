"""What the centre does with a request message: the engine call, its answer, its forward.

:func:`answer_request` runs one :class:`~zhifu.clearing.messages.requests.RequestMessage`
through the engine (by way of the event log's :class:`~zhifu.clearing.eventlog.Recorder`)
and returns the :class:`~zhifu.clearing.model.RequestResult` plus the confirmation lines and
the bank a copy goes to. A refused request changes nothing the banks can see: the centre answers
it ``PR09`` with the reason as a whole (``docs/clearing.md`` §16). Who may send what:

* the operator's requests (nets.353, nets.407, ccms.925) only from :data:`OPERATOR_CODE`;
* a bank's requests only about its own business: the engine checks the item's or packet's
  bank (``wrong_bank``); a return only from the bank the original paid; caps and earmarks
  only of a direct participant, its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Final

from zhifu.clearing.agreements import Agreement
from zhifu.clearing.codes import BusinessType, Reason, Status
from zhifu.clearing.eventlog.records import Recorder
from zhifu.clearing.messages.model import Processing, TxStatus
from zhifu.clearing.messages.requests import OPERATOR_CODE, RequestMessage, Role
from zhifu.clearing.model import ItemResult, NodeKind, RequestResult
from zhifu.core.errors import UsageError

__all__ = ["Answer", "answer_request"]

_TYPES: Final = {"E100": BusinessType.PERIODIC_CREDIT, "F100": BusinessType.PERIODIC_DEBIT}
_PERIODS: Final = {"DAY": "day", "MNTH": "month"}


@dataclass(frozen=True, slots=True)
class Answer:
    """The engine's answer, the confirmation's lines, the bank a copy is forwarded to."""

    result: RequestResult
    lines: tuple[TxStatus, ...] = ()
    forward_to: str | None = None


def _refused(reason: Reason) -> Answer:
    return Answer(RequestResult(False, reason))


def _line(engine: Recorder, result: ItemResult) -> TxStatus:
    record = engine.system.records.get(result.item_id)
    amount = record.item.amount if record is not None else 0
    reason = result.reason.value if result.reason else None
    processing = Processing(result.status, reason, None, result.netting_date, result.netting_round)
    return TxStatus(result.item_id, amount, processing)


def _answer(engine: Recorder, result: RequestResult, forward_to: str | None = None) -> Answer:
    if not result.accepted:
        return Answer(result)
    return Answer(result, tuple(_line(engine, r) for r in result.items), forward_to)


def _counterpart(engine: Recorder, item_id: str, sender: str) -> str | None:
    """The other bank of an item (where a copy of a request about it goes)."""
    record = engine.system.records.get(item_id)
    if record is None:
        return None
    item = record.item
    return item.receiver if sender == item.sender else item.sender


def _revoke(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    return _answer(engine, engine.revoke_packet(m.text("OrgnlMsgId"), m.header.sender, at))


def _return(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    original = engine.system.records.get(m.text("OrgnlTxId"))
    if original is not None and original.item.payee_bank != m.header.sender:
        return _refused(Reason.WRONG_BANK)
    result = engine.submit_return(m.text("OrgnlTxId"), m.text("TxId"), at)
    accepted = result.reason is None
    outcome = RequestResult(accepted, result.reason, (result,))
    return _answer(engine, outcome, original.item.payer_bank if original else None)


def _about_item(call: Callable[..., RequestResult]) -> Callable[..., Answer]:
    def run(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
        item_id, sender = m.text("OrgnlTxId"), m.header.sender
        extra = (m.flag("Agrd"),) if m.message_type == "beps.412" else ()
        result = call(engine, item_id, sender, *extra, at=at)
        return _answer(engine, result, _counterpart(engine, item_id, sender))

    return run


def _agreement(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    sender = m.header.sender
    if m.text("Actn") == "DEL":
        return _answer(engine, engine.revoke_agreement(m.text("AgrmtId"), sender, at))
    try:
        deal = Agreement(
            m.text("AgrmtId"), _TYPES.get(m.text("AgrmtTp"), BusinessType.ORDINARY_CREDIT),
            m.text("DbtrAgt"), m.text("CdtrAgt") or None, m.fen("ItmLmt"),
            _PERIODS.get(m.text("Prd"), ""), m.fen("PrdLmt"), m.day("VldFr"), m.day("VldTo"),
            m.text("DbtrAcct"),
        )  # fmt: skip
    except (UsageError, AssertionError):
        return _refused(Reason.SCHEMA_INVALID)
    return _answer(engine, engine.register_agreement(deal, sender, at))


def _direct(engine: Recorder, bank: str) -> bool:
    found = engine.system.participants.get(bank)
    return found is not None and found.direct


def _cap(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    bank, kind = m.text("BkCd"), NodeKind(m.text("Nd"))
    if not _direct(engine, bank):
        return _refused(Reason.UNKNOWN_BANK)
    released = engine.set_cap(bank, kind, m.fen("Amt"), at)
    return _answer(engine, RequestResult(True, None, tuple(released)))


def _earmark(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    sign = 1 if m.message_type == "nets.376" else -1
    kind = NodeKind(m.text("Nd"))
    return _answer(engine, engine.earmark(m.header.sender, kind, sign * m.fen("Amt"), at))


def _queue_query(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    engine.system.advance_to(at)
    node = m.text("Nd")
    lines = [
        TxStatus(e.item_id, e.amount, Processing(Status.QUEUED))
        for (bank, at_node), queue in sorted(engine.system.book.queues.items())
        if bank == m.header.sender and node in ("", at_node)
        for e in queue
    ]
    return Answer(RequestResult(True), tuple(lines))


def _queue_management(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    released = engine.resolve_gridlock(m.text("Nd") or None, at)
    return _answer(engine, RequestResult(True, None, tuple(released)))


def _settlement_time(engine: Recorder, m: RequestMessage, at: datetime | None) -> Answer:
    found = m.values.get("SttlmTm")
    assert isinstance(found, time)
    engine.set_settlement_time(found.replace(tzinfo=None), at)
    return Answer(RequestResult(True))


Handler = Callable[[Recorder, RequestMessage, datetime | None], Answer]
HANDLERS: Final[dict[str, Handler]] = {
    "ccms.307": _revoke,
    "ccms.318": _return,
    "beps.411": _about_item(lambda e, i, b, at: e.request_stop(i, b, at)),
    "beps.412": _about_item(lambda e, i, b, agree, at: e.answer_stop(i, b, agree, at)),
    "beps.413": _about_item(lambda e, i, b, at: e.reverse(i, b, at)),
    "beps.392": _agreement,
    "nets.353": _cap,
    "nets.376": _earmark,
    "nets.377": _earmark,
    "nets.405": _queue_query,
    "nets.407": _queue_management,
    "ccms.925": _settlement_time,
}


def answer_request(engine: Recorder, message: RequestMessage, at: datetime | None) -> Answer:
    """Check the sender's role and run the request (see the module docstring)."""
    operator = message.header.sender == OPERATOR_CODE
    if operator != (message.spec.role is Role.OPERATOR):
        return _refused(Reason.WRONG_BANK)
    return HANDLERS[message.message_type](engine, message, at)
