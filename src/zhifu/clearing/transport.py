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

import itertools
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from zhifu.clearing.codes import REASON_TEXT, Reason, Status
from zhifu.clearing.engine import ClearingSystem
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
from zhifu.clearing.model import ItemResult, RequestResult
from zhifu.clearing.reports import reconcile
from zhifu.clearing.signing import KeyDirectory, Signer
from zhifu.core.clock import Clock
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage

__all__ = ["ClearingCentre"]

_UNKNOWN = OriginalGroup("unknown", CENTRE_CODE, "ccms.900")


def _processing(result: ItemResult) -> Processing:
    reason = result.reason.value if result.reason else None
    return Processing(result.status, reason, None, result.netting_date, result.netting_round)


class ClearingCentre:
    """The NPC/CCPC message front of one :class:`ClearingSystem` (one writer: a lock)."""

    def __init__(self, system: ClearingSystem, signer: Signer, clock: Clock | None = None) -> None:
        self.system = system
        self.signer = signer
        self.clock = clock
        self.keys = KeyDirectory(signer.hsm)
        self.lock = threading.RLock()
        self._accepted: set[str] = set()
        self._outbox: dict[str, list[bytes]] = defaultdict(list)
        self._serial = itertools.count(1)

    @classmethod
    def create(
        cls, system: ClearingSystem, hsm: SoftHsm, clock: Clock | None = None
    ) -> ClearingCentre:
        """A centre with a fresh SM2 signing key in ``hsm``."""
        key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2, label="beps centre")
        return cls(system, Signer(hsm, key, CENTRE_CODE), clock)

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
        """Process one message from a bank; answer the signed ``ccms.900`` confirmation."""
        with self.lock:
            message: Message | None = None
            try:
                document = parse_xml(data)
                spec = validate(document)
                message = read(spec, document)
                self._check_banks(message)
                signer = self.keys.verify(document)
                if not isinstance(message, Instruction | ReceiptMessage):
                    raise MessageError(Reason.SCHEMA_INVALID, "not a message a bank sends")
                if signer != message.header.sender:
                    raise MessageError(Reason.BAD_SIGNATURE, "signed by another bank")
                if message.header.msg_id in self._accepted:
                    raise MessageError(Reason.DUPLICATE_MESSAGE)
                check_totals(message)
                if isinstance(message, Instruction):
                    lines = self._instruction(message)
                else:
                    lines = self._receipts(message)
            except MessageError as error:
                return self._refusal(message, error)
            accepted = Processing(Status.SUCCEEDED)
            return self._ack(message, accepted, lines)

    def _check_banks(self, message: Message) -> None:
        known = self.system.participants
        if message.header.sender not in known:
            raise MessageError(Reason.UNKNOWN_BANK, "instructing participant")
        if isinstance(message, Instruction):
            for t in message.transactions:
                if t.item.payer_bank not in known or t.item.payee_bank not in known:
                    raise MessageError(Reason.UNKNOWN_BANK, "payer or payee bank")

    def _original(self, message: Message | None) -> OriginalGroup:
        if not isinstance(message, Instruction | ReceiptMessage):
            return _UNKNOWN
        return OriginalGroup(message.header.msg_id, message.header.sender, message.message_type)

    def _ack(
        self, message: Message | None, processing: Processing, lines: Sequence[TxStatus] = ()
    ) -> bytes:
        original = self._original(message)
        receiver = original.sender
        ack = Ack(self._header(receiver), original, processing, tuple(lines))
        return build(ack, self.signer)

    def _refusal(self, message: Message | None, error: MessageError) -> bytes:
        text = REASON_TEXT[error.reason][1]
        return self._ack(message, Processing(Status.REJECTED, error.reason.value, text))

    def _instruction(self, message: Instruction) -> list[TxStatus]:
        sender = message.header.sender
        if any(t.item.sender != sender for t in message.transactions):
            raise MessageError(Reason.WRONG_BANK, "an item another bank must send")
        results = self.system.submit_packet(message.packet(), self._at())
        self._accepted.add(message.header.msg_id)
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
            self._outbox[receiver].append(build(out, self.signer))
        return lines

    def _receipts(self, message: ReceiptMessage) -> list[TxStatus]:
        self._accepted.add(message.header.msg_id)
        lines, forwards = [], defaultdict(list)
        for line, receipt in zip(message.lines, message.receipts(), strict=True):
            record = self.system.records.get(line.item_id)
            if record is not None and record.item.amount != line.amount:
                result = RequestResult(False, Reason.AMOUNT)
            else:
                result = self.system.submit_receipt(receipt, self._at())
            if result.accepted:
                processing = _processing(result.items[0])
                assert record is not None
                forwards[record.item.sender].append(
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
            self._outbox[receiver].append(build(out, self.signer))
        return lines

    # -- polling and reconciliation ----------------------------------------------------------
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
            return build(self.summary(bank, day), self.signer)
