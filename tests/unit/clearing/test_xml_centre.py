"""Bad XML, wrong control sum, bad signature, unknown bank, duplicate MsgId.

Each is refused by the centre with its reason code in a signed ccms.900 (PR09) and changes
nothing: no item, no packet, no position, no message id, no forward, no ledger posting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant, Status
from zhifu.clearing.messages.build import build, make_instruction
from zhifu.clearing.messages.model import (
    CENTRE_CODE,
    Ack,
    Header,
    Instruction,
    OriginalGroup,
    Processing,
    ReceiptLine,
    ReceiptMessage,
)
from zhifu.clearing.messages.parse import parse_message
from zhifu.clearing.signing import KeyDirectory, Signer
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

A, B, C = "102100099996", "103100000026", "104290003791"
STRANGER = "105100000017"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
OC, RD = BusinessType.ORDINARY_CREDIT, BusinessType.REAL_TIME_DEBIT
CAPS = {NodeKind.NPC: 100_000_00, NodeKind.CCPC: 50_000_00}


class World:
    def __init__(self) -> None:
        self.hsm = SoftHsm(KeyStore.in_memory())
        parts = [
            Participant(code, city, caps=CAPS)
            for code, city in [(A, "1000"), (B, "1000"), (C, "2900")]
        ]
        self.system = ClearingSystem(parts, start=T0)
        for code in (A, B, C):
            self.system.fund(code, 1_000_000_00)
        self.centre = ClearingCentre.create(self.system, self.hsm)
        self.signers = {}
        for code in (A, B, C, STRANGER):
            key = self.hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
            self.signers[code] = Signer(self.hsm, key, code)
            if code in (A, C):  # B is a participant without a registered key
                self.centre.register(code, self.hsm.get_public_key(key))
        self.bank_keys = KeyDirectory(self.hsm)
        self.bank_keys.register(CENTRE_CODE, self.centre.public_key())

    def send(self, data: bytes) -> Ack:
        ack = parse_message(self.centre.receive(data), self.bank_keys, signer=CENTRE_CODE)
        assert isinstance(ack.message, Ack)
        return ack.message

    def snapshot(self) -> Any:
        s = self.system
        return (
            {k: (r.status, r.reason) for k, r in s.records.items()},
            {k: list(p.item_ids) for k, p in s.packets.items()},
            repr(s.book.bilateral),
            set(self.centre._accepted),
            {k: len(v) for k, v in self.centre._outbox.items()},
            [s.books.reserve_balance(c) for c in (A, B, C)],
        )


@pytest.fixture
def world() -> World:
    return World()


def credit(
    msg_id: str = "M1", amount: int = 123_45, payee: str = C, item: str = "T1"
) -> Instruction:
    return make_instruction([Item(item, OC, A, payee, amount, msg_id)], msg_id, T0)


def _refused(world: World, data: bytes, reason: str) -> None:
    before = world.snapshot()
    ack = world.send(data)
    assert (ack.processing.status, ack.reason) == (Status.REJECTED, reason)
    assert not ack.accepted and ack.lines == ()
    assert world.snapshot() == before


LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>
<Document xmlns="urn:cnaps:std:beps:2010:tech:xsd:beps.121.001.01">&e;&e;&e;&e;</Document>"""


def test_bad_xml(world: World) -> None:
    good = build(credit(), world.signers[A])
    for data in (b"<Document", LAUGHS, good[:-20], good.replace(b"<CtrlSum", b"<<CtrlSum")):
        _refused(world, data, "bad_xml")


def test_schema_invalid(world: World) -> None:
    good = build(credit(), world.signers[A])
    _refused(world, good.replace(b">123.45<", b">123.450<"), "schema_invalid")
    _refused(world, good.replace(b"beps.121.001.01", b"beps.999.001.01"), "schema_invalid")
    unsigned = good[: good.index(b"<Sgntr>")] + b"</Document>"
    _refused(world, unsigned, "schema_invalid")
    ack = Ack(Header("X", T0, A, C), *credit_ack_parts())
    _refused(world, build(ack, world.signers[A]), "schema_invalid")


def credit_ack_parts() -> Any:
    return OriginalGroup("M1", A, "beps.121"), Processing(Status.SUCCEEDED)


def test_wrong_control_sum_and_count(world: World) -> None:
    message = credit()
    for count, total in [(1, 123_46), (1, 123_44), (2, 123_45), (0, 0)]:
        header = Header("M1", T0, A, C, count, total)
        data = build(Instruction("beps.121", header, message.transactions), world.signers[A])
        _refused(world, data, "control_sum")


def test_bad_signature(world: World) -> None:
    good = build(credit(), world.signers[A])
    tampered = good.replace(b">123.45<", b">923.45<").replace(b">123.45<", b">923.45<")
    _refused(world, tampered, "bad_signature")
    _refused(world, build(credit(), world.signers[C]), "bad_signature")  # C signs A's message
    forged = Signer(world.hsm, world.signers[C].key, A)  # C's key, claiming to be A
    _refused(world, build(credit(), forged), "bad_signature")
    b_credit = make_instruction([Item("TB", OC, B, C, 1_00, "MB")], "MB", T0)
    _refused(world, build(b_credit, world.signers[B]), "bad_signature")  # no key registered


def test_unknown_bank(world: World) -> None:
    _refused(world, build(credit(payee=STRANGER), world.signers[A]), "unknown_bank")
    stranger = make_instruction([Item("TS", OC, STRANGER, A, 1_00, "MS")], "MS", T0)
    _refused(world, build(stranger, world.signers[STRANGER]), "unknown_bank")
    mixed = make_instruction(
        [Item("T1", OC, A, C, 1_00, "MX"), Item("T2", OC, A, STRANGER, 1_00, "MX")], "MX", T0
    )
    _refused(world, build(mixed, world.signers[A]), "unknown_bank")


def test_duplicate_message_id(world: World) -> None:
    first = world.send(build(credit(), world.signers[A]))
    assert first.accepted and first.lines[0].processing.status is Status.NETTED
    assert first.lines[0].processing.netting_round == 2
    _refused(world, build(credit(item="T2"), world.signers[A]), "duplicate_message")
    _refused(world, build(credit(), world.signers[A]), "duplicate_message")


def test_a_refused_message_id_may_be_sent_again(world: World) -> None:
    message = credit()
    header = Header("M1", T0, A, C, 1, 1)
    _refused(
        world,
        build(Instruction("beps.121", header, message.transactions), world.signers[A]),
        "control_sum",
    )
    assert world.send(build(message, world.signers[A])).accepted


def test_an_item_of_another_bank_is_refused(world: World) -> None:
    items = [Item("T1", OC, C, A, 1_00, "M1")]
    header = Header("M1", T0, A, C, 1, 1_00)
    message = Instruction("beps.121", header, tuple(make_instruction(items, "M1", T0).transactions))
    _refused(world, build(message, world.signers[A]), "wrong_bank")


def test_business_refusals_are_per_item(world: World) -> None:
    message = make_instruction(
        [Item("T1", OC, A, C, 50_000_01, "M1"), Item("T2", OC, A, C, 50_000_00, "M1")], "M1", T0
    )
    ack = world.send(build(message, world.signers[A]))
    assert ack.accepted
    assert [(x.processing.status, x.processing.reason) for x in ack.lines] == [
        (Status.REJECTED, "limit_exceeded"),
        (Status.NETTED, None),
    ]
    forwards = world.centre.fetch(C)
    assert len(forwards) == 1
    forwarded = parse_message(forwards[0][1], world.bank_keys, signer=CENTRE_CODE).message
    assert isinstance(forwarded, Instruction)
    assert [t.item.item_id for t in forwarded.transactions] == ["T2"]
    assert forwarded.header.sender == A and forwarded.header.control_sum == 50_000_00


def test_real_time_debit_with_receipt(world: World) -> None:
    debit = make_instruction([Item("D1", RD, A, C, 300_00, "MD")], "MD", T0)
    ack = world.send(build(debit, world.signers[C]))
    assert ack.lines[0].processing.status is Status.AWAITING_RECEIPT
    ((seq, _),) = world.centre.fetch(A)
    assert seq == 1
    receipt = ReceiptMessage(
        "beps.132", Header("MR", T0, A, C, 1, 300_00), (ReceiptLine("D1", 300_00, "00"),)
    )
    wrong = ReceiptMessage(
        "beps.132", Header("MW", T0, A, C, 1, 1_00), (ReceiptLine("D1", 1_00, "00"),)
    )
    refused = world.send(build(wrong, world.signers[A]))
    assert refused.accepted and refused.lines[0].processing.reason == "amount"
    answered = world.send(build(receipt, world.signers[A]))
    assert answered.lines[0].processing.status is Status.NETTED
    assert world.system.status("D1").status is Status.NETTED
    ((_, back),) = world.centre.fetch(C)
    forwarded = parse_message(back, world.bank_keys, signer=CENTRE_CODE).message
    assert isinstance(forwarded, ReceiptMessage) and forwarded.lines[0].code == "00"
    assert world.centre.summary(A, T0.date()).banks[0].paid == 300_00
