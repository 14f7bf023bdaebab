"""CNAPS2-like BEPS messages as values: the table of message types and the message records.

Each message type (``beps.121`` ... ``beps.134``, the day-end summary ``beps.721`` and the
centre's confirmation ``ccms.900``) has a namespace ``urn:cnaps:std:<sys>:2010:tech:xsd:<id>``,
a root element and an XSD in ``zhifu/clearing/xsd``. :mod:`~zhifu.clearing.messages.build`
turns these records into signed XML, :mod:`~zhifu.clearing.messages.parse` turns XML back into
them (refusing bad input with a :class:`MessageError` that carries a ``Reason``). Amounts are
integer fen throughout.

>>> MESSAGES["beps.127"].business_type, MESSAGES["beps.127"].kind
(<BusinessType.ORDINARY_DEBIT: 'ordinary_debit'>, <MessageKind.INSTRUCTION: 'instruction'>)
>>> instruction_type(BusinessType.REAL_TIME_DEBIT), receipt_type(BusinessType.REAL_TIME_DEBIT)
('beps.131', 'beps.132')
>>> MESSAGES["beps.121"].namespace
'urn:cnaps:std:beps:2010:tech:xsd:beps.121.001.01'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from zhifu.clearing.codes import BUSINESS, BusinessType, Reason, Status
from zhifu.clearing.model import Item, Packet, Receipt
from zhifu.core.errors import ZhifuError

__all__ = [
    "CENTRE_CODE",
    "MESSAGES",
    "Ack",
    "BankSummary",
    "Header",
    "Instruction",
    "MessageError",
    "MessageKind",
    "MessageType",
    "Processing",
    "ReceiptLine",
    "ReceiptMessage",
    "Summary",
    "Transaction",
    "TxStatus",
    "instruction_type",
    "receipt_type",
]

CENTRE_CODE: Final = "999999999999"
"""The 12-digit participant code the centres (NPC/CCPC) use in headers and signatures (zhifu's)."""


class MessageError(ZhifuError):
    """A message refused as a whole; ``reason`` is the code sent back (nothing changed)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class MessageKind(StrEnum):
    INSTRUCTION = "instruction"
    RECEIPT = "receipt"
    SUMMARY = "summary"
    ACK = "ack"
    REQUEST = "request"  # zhifu.clearing.messages.requests


@dataclass(frozen=True, slots=True)
class MessageType:
    """One message type: id (``beps.121``), version, root element, kind, business type."""

    code: str
    version: str
    root: str
    kind: MessageKind
    business_type: BusinessType | None

    @property
    def name(self) -> str:
        return f"{self.code}.{self.version}"

    @property
    def namespace(self) -> str:
        return f"urn:cnaps:std:{self.code.split('.')[0]}:2010:tech:xsd:{self.name}"

    @property
    def xsd(self) -> str:
        """The schema file name in ``zhifu/clearing/xsd``."""
        return self.code.replace(".", "_") + ".xsd"


_I, _R = MessageKind.INSTRUCTION, MessageKind.RECEIPT
_B = BusinessType
MESSAGE_TABLE: Final[tuple[MessageType, ...]] = (
    MessageType("beps.121", "001.01", "CstmrCdtTrf", _I, _B.ORDINARY_CREDIT),
    MessageType("beps.122", "001.01", "FIToFICdtTrf", _I, _B.ORDINARY_CREDIT),
    MessageType("beps.123", "001.01", "RealTmCdtTrf", _I, _B.REAL_TIME_CREDIT),
    MessageType("beps.124", "001.01", "RealTmCdtTrfRcpt", _R, _B.REAL_TIME_CREDIT),
    MessageType("beps.125", "001.01", "PrdcCdtTrf", _I, _B.PERIODIC_CREDIT),
    MessageType("beps.127", "001.01", "OrdrDbtTrf", _I, _B.ORDINARY_DEBIT),
    MessageType("beps.128", "001.01", "OrdrDbtTrfRcpt", _R, _B.ORDINARY_DEBIT),
    MessageType("beps.131", "001.01", "RealTmDbtTrf", _I, _B.REAL_TIME_DEBIT),
    MessageType("beps.132", "001.01", "RealTmDbtTrfRcpt", _R, _B.REAL_TIME_DEBIT),
    MessageType("beps.133", "001.01", "PrdcDbtTrf", _I, _B.PERIODIC_DEBIT),
    MessageType("beps.134", "001.01", "PrdcDbtTrfRcpt", _R, _B.PERIODIC_DEBIT),
    MessageType("beps.721", "001.01", "SumChck", MessageKind.SUMMARY, None),
    MessageType("ccms.900", "001.02", "CmonConf", MessageKind.ACK, None),
)
MESSAGES: Final = {m.code: m for m in MESSAGE_TABLE}
BY_NAMESPACE: Final = {m.namespace: m for m in MESSAGE_TABLE}


def instruction_type(business_type: BusinessType) -> str:
    """The message carrying instructions of a business type (ordinary credit: beps.121)."""
    return BUSINESS[business_type].messages[0]


def receipt_type(business_type: BusinessType) -> str | None:
    """The message carrying receipts for a business type, if it has receipts."""
    return BUSINESS[business_type].receipt_message


@dataclass(frozen=True, slots=True)
class Header:
    """The group header: MsgId, CreDtTm, instructing and instructed participants, totals."""

    msg_id: str
    created: datetime
    sender: str
    receiver: str
    count: int = 0
    control_sum: int = 0  # fen


@dataclass(frozen=True, slots=True)
class Processing:
    """The centre's processing information (NPCPrcInf): status, reason, netting date/round."""

    status: Status
    reason: str | None = None
    text: str | None = None
    netting_date: date | None = None
    netting_round: int | None = None


@dataclass(frozen=True, slots=True)
class Transaction:
    """One TxInf: the engine item plus the parties' names and accounts."""

    item: Item
    payer_name: str = ""
    payer_account: str = ""
    payee_name: str = ""
    payee_account: str = ""
    note: str | None = None
    processing: Processing | None = None


@dataclass(frozen=True, slots=True)
class Instruction:
    """beps.121/122/123/125/127/131/133: a packet of instructions of one sending bank."""

    message_type: str
    header: Header
    transactions: tuple[Transaction, ...]

    @property
    def business_type(self) -> BusinessType:
        found = MESSAGES[self.message_type].business_type
        assert found is not None
        return found

    def packet(self) -> Packet:
        """The engine packet: id = MsgId, with the header's count and control sum."""
        return Packet(
            self.header.msg_id,
            self.header.sender,
            self.business_type,
            [t.item for t in self.transactions],
            self.header.count,
            self.header.control_sum,
        )


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One RcptInf: the original item, its amount, the receipt code (and the centre's status)."""

    item_id: str
    amount: int
    code: str = "00"
    processing: Processing | None = None


@dataclass(frozen=True, slots=True)
class OriginalGroup:
    """OrgnlGrpInf: the message answered."""

    msg_id: str
    sender: str
    message_type: str


@dataclass(frozen=True, slots=True)
class ReceiptMessage:
    """beps.124/128/132/134: receipts of the bank the items were addressed to."""

    message_type: str
    header: Header
    lines: tuple[ReceiptLine, ...]
    original: OriginalGroup | None = None

    def receipts(self) -> list[Receipt]:
        """The engine receipts, sent by the header's instructing participant."""
        return [Receipt(line.item_id, self.header.sender, line.code) for line in self.lines]


@dataclass(frozen=True, slots=True)
class TxStatus:
    """TxSts of a confirmation: one item (or receipt) and what the centre did with it."""

    item_id: str
    amount: int
    processing: Processing


@dataclass(frozen=True, slots=True)
class Ack:
    """ccms.900: the centre's answer to a message (PR09 + reason when refused as a whole)."""

    header: Header
    original: OriginalGroup
    processing: Processing
    lines: tuple[TxStatus, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.processing.status is not Status.REJECTED

    @property
    def reason(self) -> str | None:
        return self.processing.reason


@dataclass(frozen=True, slots=True)
class BankSummary:
    """BkSum: one bank's netted business of a BEPS date (debits: it paid; credits: received)."""

    bank: str
    paid_count: int = 0
    paid: int = 0
    received_count: int = 0
    received: int = 0

    @property
    def net(self) -> int:
        return self.received - self.paid


@dataclass(frozen=True, slots=True)
class Summary:
    """beps.721: the day-end summary reconciliation of a BEPS date."""

    header: Header
    beps_date: date
    banks: tuple[BankSummary, ...] = field(default_factory=tuple)

    def bank(self, code: str) -> BankSummary:
        """The totals of one bank (zeros when it had no netted business)."""
        for found in self.banks:
            if found.bank == code:
                return found
        return BankSummary(code)


Message = Instruction | ReceiptMessage | Ack | Summary


def totals(amounts: Sequence[int]) -> tuple[int, int]:
    """(count, control sum) of a sequence of amounts."""
    return len(amounts), sum(amounts)
