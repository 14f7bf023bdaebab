"""Parse CNAPS2-like XML into message records, refusing bad input with a reason code.

The checks, in order, each raising :class:`~zhifu.clearing.messages.model.MessageError`:

1. ``bad_xml``: more than :data:`MAX_BYTES`, not well-formed, or any DTD (a ``<!DOCTYPE``,
   hence any entity declaration: billion laughs and XXE are refused before anything is
   expanded or fetched; the parser also never resolves entities nor touches the network);
2. ``schema_invalid``: an unknown namespace or root, or the message fails its XSD
   (``zhifu/clearing/xsd``, validated with lxml/libxml2);
3. a caller's check of the sending bank (the centre answers ``unknown_bank``);
4. ``bad_signature``: no signature, another signer than expected, or it does not verify;
5. ``control_sum``: ``NbOfTxs`` or ``CtrlSum`` differs from the items.

Amounts are parsed exactly into integer fen (:meth:`zhifu.core.money.Money.parse`).

>>> parse_xml(b"<a>")
Traceback (most recent call last):
...
zhifu.clearing.messages.model.MessageError: bad_xml: not well-formed XML
>>> parse_xml(b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')
Traceback (most recent call last):
...
zhifu.clearing.messages.model.MessageError: bad_xml: a DTD is not allowed
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from typing import Final

from lxml import etree

from zhifu.clearing.codes import BUSINESS, BusinessType, Reason, Status
from zhifu.clearing.messages.model import (
    Ack,
    BankSummary,
    Header,
    Instruction,
    Message,
    MessageError,
    MessageKind,
    MessageType,
    OriginalGroup,
    Processing,
    ReceiptLine,
    ReceiptMessage,
    Summary,
    Transaction,
    TxStatus,
)
from zhifu.clearing.messages.requests import (
    ALL_BY_NAMESPACE,
    REQUESTS,
    FieldType,
    RequestField,
    RequestMessage,
    Value,
)
from zhifu.clearing.model import Item
from zhifu.clearing.signing import KeyDirectory, detach_signature
from zhifu.core.errors import UsageError
from zhifu.core.money import Money

__all__ = ["MAX_BYTES", "Parsed", "parse_message", "parse_xml", "schema_for", "validate"]

MAX_BYTES: Final = 8 * 1024 * 1024
_local = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_blank_text=False,
        )
        _local.parser = parser
    return parser


def parse_xml(data: bytes) -> etree._Element:
    """The root element of ``data``, parsed safely (no DTD, no entities, no network)."""
    if len(data) > MAX_BYTES:
        raise MessageError(Reason.BAD_XML, f"more than {MAX_BYTES} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise MessageError(Reason.BAD_XML, "a DTD is not allowed")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError:
        raise MessageError(Reason.BAD_XML, "not well-formed XML") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise MessageError(Reason.BAD_XML, "a DTD is not allowed")
    return root


@cache
def schema_for(spec: MessageType) -> etree.XMLSchema:
    """The compiled XSD of a message type (from the package's ``xsd`` folder)."""
    folder = resources.files("zhifu.clearing") / "xsd"
    with resources.as_file(folder / spec.xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def message_spec(document: etree._Element) -> MessageType:
    """The message type from the document's namespace (``schema_invalid`` if unknown)."""
    qname = etree.QName(document)
    spec = ALL_BY_NAMESPACE.get(qname.namespace or "")
    if spec is None or qname.localname != "Document":
        raise MessageError(Reason.SCHEMA_INVALID, "unknown message namespace or root")
    return spec


def validate(document: etree._Element) -> MessageType:
    """Validate against the message type's XSD; the detail names a line, never a value."""
    spec = message_spec(document)
    schema = schema_for(spec)
    if not schema.validate(document):
        error = schema.error_log.last_error
        where = f"line {error.line}, {error.path}" if error is not None else "document"
        raise MessageError(Reason.SCHEMA_INVALID, f"fails {spec.xsd} at {where}")
    return spec


class _Reader:
    """Namespaced look-ups in one message."""

    def __init__(self, namespace: str) -> None:
        self.ns = {"c": namespace}
        self.paths: dict[str, str] = {}

    def text(self, element: etree._Element, path: str) -> str:
        clark = self.paths.get(path)
        if clark is None:
            ns = self.ns["c"]
            clark = self.paths[path] = "/".join(f"{{{ns}}}{p}" for p in path.split("/"))
        return element.findtext(clark) or ""

    def opt(self, element: etree._Element, path: str) -> str | None:
        found = self.text(element, path)
        return found or None

    def all(self, element: etree._Element, name: str) -> list[etree._Element]:
        return element.findall(f"c:{name}", self.ns)

    def one(self, element: etree._Element, name: str) -> etree._Element | None:
        return element.find(f"c:{name}", self.ns)

    def fen(self, element: etree._Element, path: str) -> int:
        try:
            return Money.parse(self.text(element, path)).minor
        except UsageError:
            raise MessageError(Reason.SCHEMA_INVALID, f"{path} is not an amount") from None

    def header(self, root: etree._Element) -> Header:
        group = self.one(root, "GrpHdr")
        assert group is not None
        count = self.opt(group, "NbOfTxs")
        total = self.fen(group, "CtrlSum") if self.opt(group, "CtrlSum") else 0
        return Header(
            self.text(group, "MsgId"),
            datetime.fromisoformat(self.text(group, "CreDtTm")),
            self.text(group, "InstgPty/InstgDrctPty"),
            self.text(group, "InstdPty/InstdDrctPty"),
            int(count) if count else 0,
            total,
        )

    def processing(self, element: etree._Element | None) -> Processing | None:
        if element is None:
            return None
        try:
            status = Status(self.text(element, "PrcSts"))
        except ValueError:
            raise MessageError(Reason.SCHEMA_INVALID, "unknown PrcSts") from None
        day = self.opt(element, "NetgDt")
        number = self.opt(element, "NetgRnd")
        return Processing(
            status,
            self.opt(element, "PrcCd"),
            self.opt(element, "RjctInf"),
            date.fromisoformat(day) if day else None,
            int(number) if number else None,
        )

    def original(self, element: etree._Element | None) -> OriginalGroup | None:
        if element is None:
            return None
        return OriginalGroup(
            self.text(element, "OrgnlMsgId"),
            self.text(element, "OrgnlInstgPty"),
            self.text(element, "OrgnlMT"),
        )


def _category(business: BusinessType, code: str | None) -> str | None:
    """An item's CtgyPurp; None when it is its business type's own (what the builder writes
    for an item without one)."""
    return None if code == BUSINESS[business].category_purpose else code


def _instruction(r: _Reader, spec: MessageType, root: etree._Element) -> Instruction:
    header = r.header(root)
    assert spec.business_type is not None
    transactions = []
    for tx in r.all(root, "TxInf"):
        days = r.opt(tx, "RtrLtd")
        item = Item(
            r.text(tx, "TxId"),
            spec.business_type,
            r.text(tx, "DbtrAgt/BrnchId"),
            r.text(tx, "CdtrAgt/BrnchId"),
            r.fen(tx, "Amt"),
            packet_id=header.msg_id,
            receipt_days=int(days) if days is not None else None,
            agreement=r.opt(tx, "AgrmtNb"),
            category=_category(spec.business_type, r.opt(tx, "CtgyPurp")),
        )
        transactions.append(
            Transaction(
                item,
                r.text(tx, "Dbtr/Nm"),
                r.text(tx, "DbtrAcct/Id"),
                r.text(tx, "Cdtr/Nm"),
                r.text(tx, "CdtrAcct/Id"),
                r.opt(tx, "AddtlInf"),
                r.processing(r.one(tx, "NPCPrcInf")),
            )
        )
    return Instruction(spec.code, header, tuple(transactions))


def _receipts(r: _Reader, spec: MessageType, root: etree._Element) -> ReceiptMessage:
    lines = tuple(
        ReceiptLine(
            r.text(info, "OrgnlTxId"),
            r.fen(info, "OrgnlAmt"),
            r.text(info, "RcptCd"),
            r.processing(r.one(info, "NPCPrcInf")),
        )
        for info in r.all(root, "RcptInf")
    )
    return ReceiptMessage(spec.code, r.header(root), lines, r.original(r.one(root, "OrgnlGrpInf")))


def _ack(r: _Reader, root: etree._Element) -> Ack:
    original = r.original(r.one(root, "OrgnlGrpInf"))
    processing = r.processing(r.one(root, "CmonConfInf"))
    assert original is not None and processing is not None
    lines = []
    for tx in r.all(root, "TxSts"):
        status = r.processing(r.one(tx, "NPCPrcInf"))
        assert status is not None
        lines.append(TxStatus(r.text(tx, "TxId"), r.fen(tx, "Amt"), status))
    return Ack(r.header(root), original, processing, tuple(lines))


def _summary(r: _Reader, root: etree._Element) -> Summary:
    banks = tuple(
        BankSummary(
            r.text(b, "BkCd"),
            int(r.text(b, "DbtNb")),
            r.fen(b, "DbtAmt"),
            int(r.text(b, "CdtNb")),
            r.fen(b, "CdtAmt"),
        )
        for b in r.all(root, "BkSum")
    )
    for b, element in zip(banks, r.all(root, "BkSum"), strict=True):
        if r.fen(element, "NetAmt") != b.net:
            raise MessageError(Reason.CONTROL_SUM, "NetAmt differs from CdtAmt - DbtAmt")
    return Summary(r.header(root), date.fromisoformat(r.text(root, "ChckDt")), banks)


def _value(r: _Reader, block: etree._Element, f: RequestField) -> Value | None:
    text = r.opt(block, f.name)
    if text is None:
        return None
    if f.type is FieldType.AMOUNT:
        return r.fen(block, f.name)
    if f.type is FieldType.FLAG:
        return text in ("true", "1")
    if f.type is FieldType.DATE:
        return date.fromisoformat(text)
    if f.type is FieldType.TIME:
        return time.fromisoformat(text)
    return text


def _request(r: _Reader, spec: MessageType, root: etree._Element) -> RequestMessage:
    request = REQUESTS[spec.code]
    block = r.one(root, request.block)
    assert block is not None
    values = {f.name: _value(r, block, f) for f in request.fields}
    found = {name: value for name, value in values.items() if value is not None}
    return RequestMessage(spec.code, r.header(root), found)


def read(spec: MessageType, document: etree._Element) -> Message | RequestMessage:
    """The record of a validated document."""
    r = _Reader(spec.namespace)
    root = r.one(document, spec.root)
    assert root is not None
    if spec.kind is MessageKind.INSTRUCTION:
        return _instruction(r, spec, root)
    if spec.kind is MessageKind.RECEIPT:
        return _receipts(r, spec, root)
    if spec.kind is MessageKind.ACK:
        return _ack(r, root)
    if spec.kind is MessageKind.REQUEST:
        return _request(r, spec, root)
    return _summary(r, root)


def check_totals(message: Message | RequestMessage) -> None:
    """``control_sum`` unless NbOfTxs and CtrlSum agree with the items."""
    if isinstance(message, Instruction):
        amounts = [t.item.amount for t in message.transactions]
    elif isinstance(message, ReceiptMessage):
        amounts = [line.amount for line in message.lines]
    else:
        return
    if message.header.count != len(amounts) or message.header.control_sum != sum(amounts):
        raise MessageError(Reason.CONTROL_SUM, "NbOfTxs/CtrlSum differ from the items")


@dataclass(frozen=True, slots=True)
class Parsed:
    """A checked message: its type, record and signer."""

    spec: MessageType
    message: Message | RequestMessage
    signer: str


def parse_message(
    data: bytes,
    keys: KeyDirectory | None,
    *,
    check_sender: Callable[[Message | RequestMessage], None] | None = None,
    signer: str | None = None,
) -> Parsed:
    """Parse, validate, check the sender, verify the signature and the control totals.

    ``keys`` None skips verification (the signature is still detached and must be present);
    ``signer`` demands a given signer (a bank: the centre's code; the centre: the sender's).
    """
    document = parse_xml(data)
    spec = validate(document)
    message = read(spec, document)
    if check_sender is not None:
        check_sender(message)
    if keys is None:
        found, _ = detach_signature(document)
    else:
        found = keys.verify(document)
    if signer is not None and found != signer:
        raise MessageError(Reason.BAD_SIGNATURE, "signed by another party")
    check_totals(message)
    return Parsed(spec, message, found)
