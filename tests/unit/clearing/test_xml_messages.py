"""CNAPS2-like XML: round trips for every message type, XSD validation, exact amounts, SM2."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from lxml import etree

from zhifu.clearing import BusinessType, Item, Status
from zhifu.clearing.messages.build import build, make_instruction, yuan
from zhifu.clearing.messages.model import (
    CENTRE_CODE,
    MESSAGE_TABLE,
    MESSAGES,
    Ack,
    BankSummary,
    Header,
    Instruction,
    MessageError,
    OriginalGroup,
    Processing,
    ReceiptLine,
    ReceiptMessage,
    Summary,
    Transaction,
    TxStatus,
)
from zhifu.clearing.messages.parse import parse_message, parse_xml, schema_for, validate
from zhifu.clearing.obligations import Obligation, obligations_to_items
from zhifu.clearing.signing import KeyDirectory, Signer
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

A, C = "102100099996", "104290003791"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
BT = BusinessType


@pytest.fixture(scope="module")
def hsm() -> SoftHsm:
    return SoftHsm(KeyStore.in_memory())


@pytest.fixture(scope="module")
def signer(hsm: SoftHsm) -> Signer:
    return Signer(hsm, hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2), A)


@pytest.fixture(scope="module")
def keys(hsm: SoftHsm, signer: Signer) -> KeyDirectory:
    found = KeyDirectory(hsm)
    found.register(A, hsm.get_public_key(signer.key))
    return found


def _instruction(code: str) -> Instruction:
    spec = MESSAGES[code]
    assert spec.business_type is not None
    credit = spec.business_type in (BT.ORDINARY_CREDIT, BT.REAL_TIME_CREDIT, BT.PERIODIC_CREDIT)
    payer, payee = (A, C) if credit else (C, A)
    days = None if credit or spec.business_type is BT.REAL_TIME_DEBIT else 2
    items = [
        Item(f"T{n}", spec.business_type, payer, payee, amount, "M1", days)
        for n, amount in enumerate([1, 10, 20, 123_45, 50_000_00], 1)
    ]
    made = make_instruction(items, "M1", T0, message_type=code)
    first = Transaction(items[0], "张三", "6222020000000001", "李四", "6222020000000002", "note")
    return Instruction(made.message_type, made.header, (first, *made.transactions[1:]))


INSTRUCTIONS = [m.code for m in MESSAGE_TABLE if m.kind.value == "instruction"]
RECEIPTS = [m.code for m in MESSAGE_TABLE if m.kind.value == "receipt"]


@pytest.mark.parametrize("code", INSTRUCTIONS)
def test_instruction_round_trip(code: str, signer: Signer, keys: KeyDirectory) -> None:
    message = _instruction(code)
    data = build(message, signer)
    parsed = parse_message(data, keys)
    assert parsed.message == message and parsed.signer == A and parsed.spec.code == code
    packet = message.packet()
    assert packet.count == 5 and packet.control_sum == 50_123_76
    packet.check()
    assert [t.item for t in message.transactions] == list(packet.items)


@pytest.mark.parametrize("code", RECEIPTS)
def test_receipt_round_trip(code: str, signer: Signer, keys: KeyDirectory) -> None:
    lines = (ReceiptLine("T1", 1_00, "00"), ReceiptLine("T2", 2_50, "03"))
    header = Header("R1", T0, A, C, 2, 3_50)
    original = OriginalGroup("M1", C, "beps.127")
    message = ReceiptMessage(code, header, lines, original)
    parsed = parse_message(build(message, signer), keys)
    assert parsed.message == message
    assert [r.code for r in message.receipts()] == ["00", "03"]


def test_ack_and_summary_round_trip(signer: Signer, keys: KeyDirectory) -> None:
    status = Processing(Status.NETTED, None, None, date(2025, 10, 9), 2)
    ack = Ack(
        Header("A1", T0, A, C),
        OriginalGroup("M1", C, "beps.121"),
        Processing(Status.SUCCEEDED),
        (TxStatus("T1", 5, status), TxStatus("T2", 7, Processing(Status.REJECTED, "amount"))),
    )
    assert parse_message(build(ack, signer), keys).message == ack
    summary = Summary(Header("S1", T0, A, C), date(2025, 10, 9), (BankSummary(C, 1, 5, 2, 300),))
    parsed = parse_message(build(summary, signer), keys).message
    assert parsed == summary and summary.bank(C).net == 295 and summary.bank(A).net == 0


def test_every_message_type_has_a_schema_that_compiles() -> None:
    for spec in MESSAGE_TABLE:
        assert isinstance(schema_for(spec), etree.XMLSchema)
    assert {m.code for m in MESSAGE_TABLE} >= {
        "beps.121", "beps.122", "beps.123", "beps.124", "beps.125", "beps.127", "beps.128",
        "beps.131", "beps.132", "beps.133", "beps.134", "beps.721",
    }  # fmt: skip


def _mutated(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b">123.45<", b">123.4<"),  # two decimals exactly
        (b">123.45<", b">123.456<"),
        (b">123.45<", b">1.2345e2<"),
        (b">123.45<", b">-123.45<"),
        (b'Ccy="CNY"', b'Ccy="USD"'),
        (b"<DbtrAgt><BrnchId>104290003791", b"<DbtrAgt><BrnchId>10429000379"),
        (b"<NbOfTxs>5</NbOfTxs>", b""),
        (b"<SysCd>BEPS</SysCd>", b"<SysCd>HVPS</SysCd>"),
        (b"<CtgyPurp>B100</CtgyPurp>", b"<CtgyPurp>Z100</CtgyPurp>"),
        (b"<MsgId>M1</MsgId>", b"<MsgId>M 1</MsgId>"),
        (b"beps.127.001.01", b"beps.129.001.01"),
    ],
)
def test_schema_refuses(old: bytes, new: bytes, signer: Signer) -> None:
    data = _mutated(build(_instruction("beps.127"), signer), old, new)
    with pytest.raises(MessageError) as caught:
        validate(parse_xml(data))
    assert caught.value.reason.value == "schema_invalid"


def test_amounts_are_exact_integers(signer: Signer, keys: KeyDirectory) -> None:
    items = [Item(f"X{n}", BT.PERIODIC_CREDIT, A, C, a, "P") for n, a in enumerate([10, 20])]
    big = Item("X9", BT.PERIODIC_CREDIT, A, C, 99_999_999_999_999_99, "P")
    message = make_instruction([*items, big], "P", T0)
    data = build(message, signer)
    assert b">0.10<" in data and b">0.20<" in data and b">99999999999999.99<" in data
    parsed = parse_message(data, keys).message
    assert isinstance(parsed, Instruction)
    assert parsed.header.control_sum == 99_999_999_999_999_99 + 30
    assert [yuan(x) for x in (0, 5, 100, -1)] == ["0.00", "0.05", "1.00", "-0.01"]


def test_signature_covers_everything_but_itself(
    hsm: SoftHsm, signer: Signer, keys: KeyDirectory
) -> None:
    data = build(_instruction("beps.121"), signer)
    for old, new in [(b"\xe5\xbc\xa0", b"\xe7\x8e\x8b"), (b">note<", b">nope<"), (b"T2<", b"T7<")]:
        with pytest.raises(MessageError) as caught:
            parse_message(_mutated(data, old, new), keys)
        assert caught.value.reason.value == "bad_signature"
    other = Signer(hsm, hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2), A)
    with pytest.raises(MessageError, match="bad_signature"):
        parse_message(build(_instruction("beps.121"), other), keys)
    with pytest.raises(MessageError, match="bad_signature"):
        parse_message(data, keys, signer=CENTRE_CODE)


def test_wrong_totals_are_refused_after_the_signature(signer: Signer, keys: KeyDirectory) -> None:
    message = _instruction("beps.121")
    for header in (
        Header("M1", T0, A, C, 5, message.header.control_sum + 1),
        Header("M1", T0, A, C, 4, message.header.control_sum),
    ):
        data = build(Instruction("beps.121", header, message.transactions), signer)
        with pytest.raises(MessageError) as caught:
            parse_message(data, keys)
        assert caught.value.reason.value == "control_sum"


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document xmlns="urn:cnaps:std:beps:2010:tech:xsd:beps.121.001.01">&lol9;</Document>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:cnaps:std:beps:2010:tech:xsd:beps.121.001.01">&x;</Document>"""


@pytest.mark.parametrize(
    "data",
    [
        LAUGHS,
        XXE,
        LAUGHS.replace(b"<!DOCTYPE", b"<!doctype"),
        LAUGHS.decode().encode("utf-16"),
        b"<Document",
        b"",
        b"\xff\xfe\x00",
        b"<a/><b/>",
        b"x" * (8 * 1024 * 1024 + 1),
    ],
)
def test_bad_xml_is_refused_without_expansion(data: bytes) -> None:
    with pytest.raises(MessageError) as caught:
        parse_xml(data)
    assert caught.value.reason.value == "bad_xml"


def test_obligations_become_ordinary_credits_from_the_owing_bank() -> None:
    day = date(2026, 11, 25)
    items = obligations_to_items(
        [Obligation(A, C, 100, "card-1", day), Obligation(C, A, 0, "z", day)]
    )
    assert items == [Item("OB20261125card-1", BT.ORDINARY_CREDIT, A, C, 100, f"OB20261125{A}")]
    split = obligations_to_items([Obligation(A, C, 250, "r", day)], limit=100)
    assert [(i.item_id, i.amount) for i in split] == [
        ("OB20261125r-1", 100), ("OB20261125r-2", 100), ("OB20261125r-3", 50)
    ]  # fmt: skip
    for payer, payee, amount, reference in [(A, A, 1, "r"), (A, C, -1, "r"), (A, C, 1, "a b"),
                                            ("1", C, 1, "r")]:  # fmt: skip
        with pytest.raises(UsageError):
            Obligation(payer, payee, amount, reference, day)
