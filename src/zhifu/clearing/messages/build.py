"""Build signed CNAPS2-like XML from message records (:mod:`zhifu.clearing.messages.model`).

Amounts are written from integer fen as ``yuan.ff`` with ``Ccy="CNY"``; times as ISO 8601
with their offset. Every message is signed (:mod:`zhifu.clearing.signing`) and serialised
as UTF-8 without indentation.

>>> from datetime import datetime
>>> from zhifu.clearing.codes import BusinessType
>>> from zhifu.clearing.model import Item
>>> from zhifu.core.clock import SHANGHAI
>>> item = Item("T1", BusinessType.ORDINARY_CREDIT, "102100099996", "103100000026", 123_45)
>>> message = make_instruction([item], "M1", datetime(2025, 10, 9, 10, tzinfo=SHANGHAI))
>>> message.message_type, message.header.count, message.header.control_sum
('beps.121', 1, 12345)
>>> yuan(123_45), yuan(-5)
('123.45', '-0.05')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time

from lxml import etree

from zhifu.clearing.codes import BUSINESS
from zhifu.clearing.messages.model import (
    CENTRE_CODE,
    Ack,
    Header,
    Instruction,
    Message,
    OriginalGroup,
    Processing,
    ReceiptMessage,
    Summary,
    Transaction,
    instruction_type,
)
from zhifu.clearing.messages.requests import ALL_MESSAGES, FieldType, RequestMessage
from zhifu.clearing.model import Item
from zhifu.clearing.signing import Signer, sign_document
from zhifu.core.errors import UsageError

__all__ = ["build", "make_instruction", "yuan"]

Maker = Callable[[etree._Element, str], etree._Element]


def yuan(fen: int) -> str:
    """Integer fen as a decimal string with two decimals."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def make_instruction(
    items: Sequence[Item],
    msg_id: str,
    created: datetime,
    *,
    message_type: str | None = None,
    receiver: str | None = None,
) -> Instruction:
    """An instruction message for items of one sender and type, totals computed.

    ``receiver`` (InstdDrctPty) defaults to the items' receiving bank when they share one,
    else the centre's code.
    """
    if not items:
        raise UsageError("a message holds at least one item", argument="items")
    first = items[0]
    kind = message_type or instruction_type(first.business_type)
    if receiver is None:
        receivers = {i.receiver for i in items}
        receiver = receivers.pop() if len(receivers) == 1 else CENTRE_CODE
    amounts = [i.amount for i in items]
    header = Header(msg_id, created, first.sender, receiver, len(amounts), sum(amounts))
    return Instruction(kind, header, tuple(Transaction(i) for i in items))


class _Writer:
    """Element factory in one namespace."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace
        self.tags: dict[str, str] = {}

    def el(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        tag = self.tags.get(name)
        if tag is None:
            tag = self.tags[name] = f"{{{self.ns}}}{name}"
        child = etree.SubElement(parent, tag)
        if text is not None:
            child.text = text
        return child

    def amount(self, parent: etree._Element, name: str, fen: int) -> None:
        self.el(parent, name, yuan(fen)).set("Ccy", "CNY")

    def header(self, parent: etree._Element, header: Header, totals: bool) -> None:
        group = self.el(parent, "GrpHdr")
        self.el(group, "MsgId", header.msg_id)
        self.el(group, "CreDtTm", header.created.isoformat(timespec="seconds"))
        self.el(self.el(group, "InstgPty"), "InstgDrctPty", header.sender)
        self.el(self.el(group, "InstdPty"), "InstdDrctPty", header.receiver)
        self.el(group, "SysCd", "BEPS")
        if totals:
            self.el(group, "NbOfTxs", str(header.count))
            self.amount(group, "CtrlSum", header.control_sum)

    def processing(self, parent: etree._Element, name: str, p: Processing) -> None:
        info = self.el(parent, name)
        self.el(info, "PrcSts", p.status.value)
        if p.reason:
            self.el(info, "PrcCd", p.reason)
        if p.text:
            self.el(info, "RjctInf", p.text[:105])
        if p.netting_date is not None:
            self.el(info, "NetgDt", p.netting_date.isoformat())
        if p.netting_round is not None:
            self.el(info, "NetgRnd", f"{p.netting_round:02d}")

    def original(self, parent: etree._Element, o: OriginalGroup) -> None:
        group = self.el(parent, "OrgnlGrpInf")
        self.el(group, "OrgnlMsgId", o.msg_id)
        self.el(group, "OrgnlInstgPty", o.sender)
        self.el(group, "OrgnlMT", o.message_type)


def _transaction(w: _Writer, body: etree._Element, t: Transaction) -> None:
    item = t.item
    tx = w.el(body, "TxInf")
    w.el(tx, "TxId", item.item_id)
    w.el(w.el(tx, "Dbtr"), "Nm", t.payer_name)
    w.el(w.el(tx, "DbtrAcct"), "Id", t.payer_account)
    w.el(w.el(tx, "DbtrAgt"), "BrnchId", item.payer_bank)
    w.el(w.el(tx, "CdtrAgt"), "BrnchId", item.payee_bank)
    w.el(w.el(tx, "Cdtr"), "Nm", t.payee_name)
    w.el(w.el(tx, "CdtrAcct"), "Id", t.payee_account)
    w.amount(tx, "Amt", item.amount)
    w.el(tx, "CtgyPurp", item.category or BUSINESS[item.business_type].category_purpose)
    if item.agreement is not None:
        w.el(tx, "AgrmtNb", item.agreement)
    if item.receipt_days is not None:
        w.el(tx, "RtrLtd", str(item.receipt_days))
    if t.note:
        w.el(tx, "AddtlInf", t.note)
    if t.processing is not None:
        w.processing(tx, "NPCPrcInf", t.processing)


def _request(w: _Writer, root: etree._Element, message: RequestMessage) -> None:
    block = w.el(root, message.spec.block)
    for spec in message.spec.fields:
        value = message.values.get(spec.name)
        if value is None:
            continue
        if spec.type is FieldType.AMOUNT:
            assert isinstance(value, int)
            w.amount(block, spec.name, value)
        elif isinstance(value, bool):
            w.el(block, spec.name, "true" if value else "false")
        elif isinstance(value, date | time):
            w.el(block, spec.name, value.isoformat())
        else:
            w.el(block, spec.name, str(value))


def _body(w: _Writer, root: etree._Element, message: Message | RequestMessage) -> None:
    if isinstance(message, Instruction):
        w.header(root, message.header, True)
        for t in message.transactions:
            _transaction(w, root, t)
    elif isinstance(message, ReceiptMessage):
        w.header(root, message.header, True)
        if message.original is not None:
            w.original(root, message.original)
        for line in message.lines:
            info = w.el(root, "RcptInf")
            w.el(info, "OrgnlTxId", line.item_id)
            w.amount(info, "OrgnlAmt", line.amount)
            w.el(info, "RcptCd", line.code)
            if line.processing is not None:
                w.processing(info, "NPCPrcInf", line.processing)
    elif isinstance(message, Ack):
        w.header(root, message.header, False)
        w.original(root, message.original)
        w.processing(root, "CmonConfInf", message.processing)
        for status in message.lines:
            tx = w.el(root, "TxSts")
            w.el(tx, "TxId", status.item_id)
            w.amount(tx, "Amt", status.amount)
            w.processing(tx, "NPCPrcInf", status.processing)
    elif isinstance(message, RequestMessage):
        w.header(root, message.header, False)
        _request(w, root, message)
    else:
        w.header(root, message.header, False)
        w.el(root, "ChckDt", message.beps_date.isoformat())
        for bank in message.banks:
            summary = w.el(root, "BkSum")
            w.el(summary, "BkCd", bank.bank)
            w.el(summary, "DbtNb", str(bank.paid_count))
            w.amount(summary, "DbtAmt", bank.paid)
            w.el(summary, "CdtNb", str(bank.received_count))
            w.amount(summary, "CdtAmt", bank.received)
            w.amount(summary, "NetAmt", bank.net)


def message_type_of(message: Message | RequestMessage) -> str:
    """The message type code (``beps.121`` ...) of a record."""
    if isinstance(message, Ack):
        return "ccms.900"
    if isinstance(message, Summary):
        return "beps.721"
    return message.message_type


def build_document(message: Message | RequestMessage, signer: Signer) -> etree._Element:
    """The signed ``Document`` element of a message."""
    spec = ALL_MESSAGES[message_type_of(message)]
    w = _Writer(spec.namespace)
    document = etree.Element(f"{{{spec.namespace}}}Document", nsmap={None: spec.namespace})
    _body(w, w.el(document, spec.root), message)
    sign_document(document, signer)
    return document


def build(message: Message | RequestMessage, signer: Signer) -> bytes:
    """The signed message as UTF-8 XML bytes (with an XML declaration)."""
    return etree.tostring(build_document(message, signer), xml_declaration=True, encoding="UTF-8")
