"""The centres' message service: signed XML in, engine calls, confirmations and forwards out.

:class:`ClearingCentre` is what the HTTP routes (``zhifu.web.routes.clearing_centre``) call;
it is plain bytes in and out, so tests can drive it without a server. For each message a bank
sends it answers a signed ``ccms.900`` confirmation: ``PR09`` with a reason code when the
message is refused as a whole (nothing changes: no item, no message id, no position is
recorded), else ``PR05`` with one ``TxSts`` per item or receipt (the engine's status, reason,
netting date and round). Whole-message refusals, in order: ``bad_xml``, ``schema_invalid``,
``unknown_bank`` (the sender or any bank of any item), ``bad_signature`` (also: signed by
another bank than the instructing one), ``duplicate_message`` (an accepted MsgId),
``control_sum``, ``wrong_bank`` (an item another bank must send), ``schema_invalid`` (a
confirmation or summary sent to the centre).

Admitted instructions are forwarded, one message per receiving bank, to that bank's inbox
(debits awaiting its receipt, credits netted or queued); accepted receipts are forwarded to the
bank that sent the original item. Forwards carry the original instructing bank in ``InstgPty``
and the centre's ``NPCPrcInf`` per item, and are signed by the centre (:data:`CENTRE_CODE`).

**Durability.** Given a log (:class:`~zhifu.clearing.eventlog.store.CentreLog`: the
:class:`~zhifu.clearing.eventlog.EventStore` of ``zhifu serve``), the centre makes its engine
calls through a :class:`~zhifu.clearing.eventlog.Recorder` and commits their records together
with the forwards they produced before it answers: a bank is told nothing the log does not
hold. If the log cannot be written the centre stops (:class:`CentreStoppedError`, HTTP 503)
rather than go on with a state the log could not rebuild; a restart replays the log. The MsgIds
the centre makes take their serials from blocks reserved in the log, so they do not repeat
after a restart.

**Polls.** :meth:`ClearingCentre.authorize` checks a poll's signature
(:mod:`zhifu.clearing.polls`) before :meth:`~ClearingCentre.fetch` or
:meth:`~ClearingCentre.reconciliation` serve it.

>>> from datetime import datetime
>>> from zhifu.clearing import ClearingSystem, MemoryBooks, Participant
>>> from zhifu.core.clock import SHANGHAI
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> system = ClearingSystem([Participant("102100099996", "1000")],
...     start=datetime(2025, 10, 9, 10, tzinfo=SHANGHAI), books=MemoryBooks())
>>> centre = ClearingCentre.create(system, hsm)
>>> from zhifu.clearing.messages.parse import parse_message
>>> ack = parse_message(centre.receive(b"<oops"), None).message
>>> ack.processing.status.value, ack.reason
('PR09', 'bad_xml')
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from zhifu.clearing.codes import REASON_TEXT, Reason, Status
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.eventlog.records import Record, Recorder, accepted_messages
from zhifu.clearing.eventlog.store import CentreLog, Serials
from zhifu.clearing.messages.build import build
from zhifu.clearing.messages.model import (
    CENTRE_CODE,
    Ack,
    BankSummary,
    Header,
    Instruction,
    Message,
    MessageError,
    OriginalGroup,
    Processing,
    ReceiptLine,
    ReceiptMessage,
    Summary,
    Transaction,
    TxStatus,
)
from zhifu.clearing.messages.parse import check_totals, parse_xml, read, validate
from zhifu.clearing.messages.requests import OPERATOR_CODE, RequestMessage
from zhifu.clearing.model import ItemResult, Receipt, RequestResult
from zhifu.clearing.polls import PollGuard
from zhifu.clearing.reports import reconcile
from zhifu.clearing.request_calls import answer_request
from zhifu.clearing.rounds import RoundState
from zhifu.clearing.signing import KeyDirectory, Signer
from zhifu.core.clock import Clock
from zhifu.core.errors import ZhifuError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage

__all__ = ["CENTRE_KEY_LABEL", "CentreStoppedError", "ClearingCentre"]

log = logging.getLogger("zhifu.clearing.transport")
_UNKNOWN = OriginalGroup("unknown", CENTRE_CODE, "ccms.900")
CENTRE_KEY_LABEL: Final = "beps centre"
SERIAL_COUNTER: Final = "centre_msg_serial"


class CentreStoppedError(ZhifuError):
    """The centre could not write its log and takes no more messages (restart it)."""


def _processing(result: ItemResult) -> Processing:
    reason = result.reason.value if result.reason else None
    return Processing(result.status, reason, None, result.netting_date, result.netting_round)


class ClearingCentre:
    """The NPC/CCPC message front of one :class:`ClearingSystem` (one writer: a lock)."""

    def __init__(
        self,
        system: ClearingSystem,
        signer: Signer,
        clock: Clock | None = None,
        *,
        log: CentreLog | None = None,
    ) -> None:
        self.system = system
        self.engine = Recorder(system)
        self.signer = signer
        self.clock = clock
        self.log = log
        self.stopped: str | None = None  # why the centre stopped taking messages
        self.keys = KeyDirectory(signer.hsm)
        self.polls = PollGuard(self.keys)
        self.lock = threading.RLock()
        self._accepted: set[str] = set()
        self._outbox: dict[str, list[bytes]] = defaultdict(list)
        self._serial = Serials(log, SERIAL_COUNTER)

    @classmethod
    def create(
        cls,
        system: ClearingSystem,
        hsm: SoftHsm,
        clock: Clock | None = None,
        *,
        log: CentreLog | None = None,
    ) -> ClearingCentre:
        """A centre signing with the SM2 key labelled :data:`CENTRE_KEY_LABEL` in ``hsm``:
        the one a key store kept from an earlier start, else a new one."""
        keys = [
            info.handle
            for info in hsm.list_keys()
            if info.label == CENTRE_KEY_LABEL
            and info.usage is KeyUsage.SIGNING
            and info.algorithm is KeyAlgorithm.SM2
        ]
        key = (
            keys[-1]
            if keys
            else hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2, label=CENTRE_KEY_LABEL)
        )
        return cls(system, Signer(hsm, key, CENTRE_CODE), clock, log=log)

    def restore(self, records: Sequence[Record], inboxes: Mapping[str, Sequence[bytes]]) -> None:
        """Take up a replayed log: the MsgIds it accepted and the banks' inboxes."""
        with self.lock:
            self._accepted = accepted_messages(records)
            self._outbox = defaultdict(list, {b: list(m) for b, m in inboxes.items()})

    def commit(self, messages: Sequence[tuple[str, bytes]] = ()) -> None:
        """Make the engine calls made since the last commit durable, with ``messages`` for the
        banks' inboxes; then put the messages in the inboxes. A log that fails stops the
        centre (:class:`CentreStoppedError`)."""
        records = self.engine.take()
        if self.log is not None and (records or messages):
            try:
                self.log.commit(records, messages)
            except ZhifuError as exc:
                self.stopped = str(exc)
                log.error("BEPS centre stopped: the event log failed: %s", exc)
                raise CentreStoppedError(f"the event log failed: {exc}") from None
        for bank, data in messages:
            self._outbox[bank].append(data)

    def _check_running(self) -> None:
        if self.stopped is not None:
            raise CentreStoppedError(f"the centre stopped: {self.stopped}; restart it")

    def public_key(self) -> bytes:
        """The centre's SM2 public key (banks register it to check confirmations)."""
        return self.signer.hsm.get_public_key(self.signer.key)

    def register(self, bank: str, public_key: bytes) -> KeyHandle:
        """Register a participant's SM2 public key (its messages are checked against it)."""
        with self.lock:
            return self.keys.register(bank, public_key)

    # -- time and ids ------------------------------------------------------------------------
    def _at(self) -> datetime | None:
        if self.clock is None:
            return None
        now = self.clock.now()
        return now if now >= self.system.now else None

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{self.system.now:%Y%m%d}{next(self._serial):010d}"

    def _header(
        self, receiver: str, sender: str = CENTRE_CODE, amounts: Sequence[int] = ()
    ) -> Header:
        return Header(
            self._next_id("N"), self.system.now, sender, receiver, len(amounts), sum(amounts)
        )

    # -- receiving ---------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Process one message from a bank; answer the signed ``ccms.900`` confirmation
        (once what it changed is in the log)."""
        with self.lock:
            self._check_running()
            outgoing: list[tuple[str, bytes]] = []
            try:
                return self._receive(data, outgoing)
            finally:
                self.commit(outgoing)

    def _receive(self, data: bytes, outgoing: list[tuple[str, bytes]]) -> bytes:
        message: Message | RequestMessage | None = None
        try:
            document = parse_xml(data)
            spec = validate(document)
            message = read(spec, document)
            self._check_banks(message)
            signer = self.keys.verify(document)
            if not isinstance(message, Instruction | ReceiptMessage | RequestMessage):
                raise MessageError(Reason.SCHEMA_INVALID, "not a message a bank sends")
            if signer != message.header.sender:
                raise MessageError(Reason.BAD_SIGNATURE, "signed by another bank")
            if message.header.msg_id in self._accepted:
                raise MessageError(Reason.DUPLICATE_MESSAGE)
            check_totals(message)
            if isinstance(message, Instruction):
                lines = self._instruction(message, outgoing)
            elif isinstance(message, RequestMessage):
                lines = self._request(message, outgoing)
            else:
                lines = self._receipts(message, outgoing)
        except MessageError as error:
            return self._refusal(message, error)
        return self._ack(message, Processing(Status.SUCCEEDED), lines)

    def _check_banks(self, message: Message | RequestMessage) -> None:
        known = self.system.participants
        operator = isinstance(message, RequestMessage) and message.header.sender == OPERATOR_CODE
        if message.header.sender not in known and not operator:
            raise MessageError(Reason.UNKNOWN_BANK, "instructing participant")
        if isinstance(message, Instruction):
            for t in message.transactions:
                if t.item.payer_bank not in known or t.item.payee_bank not in known:
                    raise MessageError(Reason.UNKNOWN_BANK, "payer or payee bank")

    def _original(self, message: Message | RequestMessage | None) -> OriginalGroup:
        if not isinstance(message, Instruction | ReceiptMessage | RequestMessage):
            return _UNKNOWN
        return OriginalGroup(message.header.msg_id, message.header.sender, message.message_type)

    def _ack(
        self,
        message: Message | RequestMessage | None,
        processing: Processing,
        lines: Sequence[TxStatus] = (),
    ) -> bytes:
        original = self._original(message)
        receiver = original.sender
        ack = Ack(self._header(receiver), original, processing, tuple(lines))
        return build(ack, self.signer)

    def _refusal(self, message: Message | RequestMessage | None, error: MessageError) -> bytes:
        text = REASON_TEXT[error.reason][1]
        return self._ack(message, Processing(Status.REJECTED, error.reason.value, text))

    def _instruction(
        self, message: Instruction, outgoing: list[tuple[str, bytes]]
    ) -> list[TxStatus]:
        sender = message.header.sender
        if any(t.item.sender != sender for t in message.transactions):
            raise MessageError(Reason.WRONG_BANK, "an item another bank must send")
        msg_id = message.header.msg_id
        results = self.engine.submit_packet(message.packet(), self._at(), message=msg_id)
        self._accepted.add(msg_id)
        by_receiver: dict[str, list[Transaction]] = defaultdict(list)
        lines = []
        for t, result in zip(message.transactions, results, strict=True):
            processing = _processing(result)
            lines.append(TxStatus(t.item.item_id, t.item.amount, processing))
            if result.status is not Status.REJECTED:
                forward = Transaction(
                    t.item, t.payer_name, t.payer_account, t.payee_name, t.payee_account,
                    t.note, processing,
                )  # fmt: skip
                by_receiver[t.item.receiver].append(forward)
        for receiver, forwards in by_receiver.items():
            amounts = [f.item.amount for f in forwards]
            header = self._header(receiver, sender, amounts)
            out = Instruction(message.message_type, header, tuple(forwards))
            outgoing.append((receiver, build(out, self.signer)))
        return lines

    def _request(
        self, message: RequestMessage, outgoing: list[tuple[str, bytes]]
    ) -> list[TxStatus]:
        """A request (docs/clearing.md §16): refused as a whole, or answered with its lines
        and a copy to the other bank of the item it is about."""
        answer = answer_request(self.engine, message, self._at())
        if not answer.result.accepted:
            raise MessageError(answer.result.reason or Reason.SCHEMA_INVALID)
        msg_id = message.header.msg_id
        if message.message_type != "nets.405":  # a query changes nothing and is not logged
            self.engine.tag_message(msg_id)
        self._accepted.add(msg_id)
        if answer.forward_to is not None:
            copy = RequestMessage(
                message.message_type,
                self._header(answer.forward_to, message.header.sender),
                message.values,
            )
            outgoing.append((answer.forward_to, build(copy, self.signer)))
        return list(answer.lines)

    def _receipts(
        self, message: ReceiptMessage, outgoing: list[tuple[str, bytes]]
    ) -> list[TxStatus]:
        msg_id = message.header.msg_id
        self._accepted.add(msg_id)
        results = self._submit_receipts(message, msg_id)
        lines, forwards = [], defaultdict(list)
        for line, result in zip(message.lines, results, strict=True):
            if result.accepted:
                processing = _processing(result.items[0])
                sender = self.system.records[line.item_id].item.sender
                forwards[sender].append(
                    ReceiptLine(line.item_id, line.amount, line.code, processing)
                )
            else:
                reason = result.reason.value if result.reason else None
                processing = Processing(Status.REJECTED, reason)
            lines.append(TxStatus(line.item_id, line.amount, processing))
        for receiver, answered in forwards.items():
            header = self._header(receiver, message.header.sender, [a.amount for a in answered])
            out = ReceiptMessage(
                message.message_type, header, tuple(answered), self._original(message)
            )
            outgoing.append((receiver, build(out, self.signer)))
        return lines

    def _submit_receipts(self, message: ReceiptMessage, msg_id: str) -> list[RequestResult]:
        """The engine's answer per line, all at one instant; a line whose amount is not the
        item's is refused here (``amount``) and never reaches the engine."""
        wrong: set[int] = set()
        sent: list[Receipt] = []
        pairs = zip(message.lines, message.receipts(), strict=True)
        for index, (line, receipt) in enumerate(pairs):
            record = self.system.records.get(line.item_id)
            if record is not None and record.item.amount != line.amount:
                wrong.add(index)
            else:
                sent.append(receipt)
        answers = iter(self.engine.submit_receipts(sent, self._at(), message=msg_id))
        return [
            RequestResult(False, Reason.AMOUNT) if i in wrong else next(answers)
            for i in range(len(message.lines))
        ]

    # -- polling and reconciliation ----------------------------------------------------------
    def authorize(self, method: str, target: str, bank: str, headers: Mapping[str, str]) -> str:
        """Check a poll for ``bank``'s inbox or summary: the signing bank, else
        :class:`~zhifu.clearing.polls.PollAuthError` (``docs/clearing.md#signed-polls``)."""
        return self.polls.check(method, target, bank, headers)

    def status(self) -> dict[str, Any]:
        """The engine's clock, open round and rounds by state (no bank's data)."""
        with self.lock:
            day, number = self.system.book.current
            states = [r.state for r in self.system.rounds.values()]
            return {
                "now": self.system.now.isoformat(),
                "round": {"beps_date": day.isoformat(), "number": number},
                "rounds": {s.value: states.count(s) for s in RoundState if s in states},
                "running": self.stopped is None,
            }

    def fetch(self, bank: str, after: int = 0) -> list[tuple[int, bytes]]:
        """Messages addressed to ``bank`` with a sequence number above ``after`` (1-based)."""
        with self.lock:
            box = self._outbox.get(bank, [])
            return [(n, data) for n, data in enumerate(box, 1) if n > after]

    def summary(self, bank: str, day: date) -> Summary:
        """The day-end summary of one bank for a BEPS date (its netted business)."""
        with self.lock:
            found = {b.bank: b for b in reconcile(self.system, day).banks}.get(bank)
            totals = (
                BankSummary(bank)
                if found is None
                else BankSummary(
                    bank, found.paid_count, found.paid_fen, found.received_count,
                    found.received_fen,
                )
            )  # fmt: skip
            return Summary(self._header(bank), day, (totals,))

    def reconciliation(self, bank: str, day: date) -> bytes:
        """The signed ``beps.721`` summary of ``bank`` for a BEPS date."""
        with self.lock:
            self._check_running()
            return build(self.summary(bank, day), self.signer)
