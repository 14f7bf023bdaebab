"""Requests as signed messages: each validated against its XSD, answered by ccms.900, refused
as a whole when the engine refuses it (nothing changes), from the right party only."""

from __future__ import annotations

from datetime import datetime, time
from importlib import resources
from typing import Any

import pytest
from lxml import etree

from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant, Status
from zhifu.clearing.messages.build import build, make_instruction
from zhifu.clearing.messages.model import CENTRE_CODE, Ack, Header
from zhifu.clearing.messages.parse import parse_message
from zhifu.clearing.messages.requests import (
    OPERATOR_CODE,
    REQUEST_TABLE,
    REQUESTS,
    RequestMessage,
    Role,
)
from zhifu.clearing.settlement import MemoryBooks
from zhifu.clearing.signing import KeyDirectory, Signer
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

A, B, C = "102100099996", "103100000026", "104290003791"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)  # Thursday: a working day
XS = "{http://www.w3.org/2001/XMLSchema}"


def test_each_request_xsd_declares_the_table() -> None:
    folder = resources.files("zhifu.clearing") / "xsd"
    for spec in REQUEST_TABLE:
        schema = etree.parse(str(folder / f"{spec.code.replace('.', '_')}.xsd"))
        block = schema.find(f"{XS}complexType[@name='{spec.block}Block']")
        assert block is not None, spec.code
        found = [
            (e.get("name"), e.get("type"), e.get("minOccurs") != "0")
            for e in block.iter(f"{XS}element")
        ]
        assert found == [(f.name, f.type.value, f.required) for f in spec.fields], spec.code
        body = schema.find(f"{XS}element[@name='Document']//{XS}element[@name='{spec.root}']")
        assert body is not None, spec.code
    assert len(REQUESTS) == len(REQUEST_TABLE)
    assert {s.role for s in REQUEST_TABLE} == set(Role)


class World:
    def __init__(self) -> None:
        self.hsm = SoftHsm(KeyStore.in_memory())
        caps = {NodeKind.NPC: 1_000_00, NodeKind.CCPC: 1_000_00}
        parts = [
            Participant(c, city, caps=caps) for c, city in [(A, "1000"), (B, "1000"), (C, "2900")]
        ]
        self.system = ClearingSystem(parts, start=T0, books=MemoryBooks())
        for code in (A, B, C):
            self.system.books.fund(code, 1_000_000_00)
        self.clock = FixedClock(T0)
        self.centre = ClearingCentre.create(self.system, self.hsm, self.clock)
        self.signers = {}
        for code in (A, B, C, OPERATOR_CODE):
            key = self.hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
            self.signers[code] = Signer(self.hsm, key, code)
            self.centre.register(code, self.hsm.get_public_key(key))
        self.keys = KeyDirectory(self.hsm)
        self.keys.register(CENTRE_CODE, self.centre.public_key())
        self.serial = 0

    def send(self, message: Any) -> Ack:
        data = build(message, self.signers[message.header.sender])
        ack = parse_message(self.centre.receive(data), self.keys, signer=CENTRE_CODE).message
        assert isinstance(ack, Ack)
        return ack

    def request(self, code: str, sender: str, msg_id: str | None = None, **values: Any) -> Ack:
        self.serial += 1
        header = Header(msg_id or f"Q{self.serial}", self.clock.now(), sender, CENTRE_CODE)
        return self.send(RequestMessage(code, header, values))

    def items(self, msg_id: str, *items: Item) -> Ack:
        return self.send(make_instruction(list(items), msg_id, self.clock.now()))

    def state(self) -> Any:
        s = self.system
        return (
            {k: (r.status, r.reason) for k, r in s.records.items()},
            repr(s.book.bilateral), dict(s.book.caps), repr(s.book.queues),
            set(self.centre._accepted), {k: len(v) for k, v in self.centre._outbox.items()},
        )  # fmt: skip


@pytest.fixture
def world() -> World:
    return World()


def refused(world: World, reason: str, code: str, sender: str, **values: Any) -> None:
    before = world.state()
    ack = world.request(code, sender, **values)
    assert (ack.processing.status, ack.reason) == (Status.REJECTED, reason)
    assert world.state() == before


def debit(item_id: str, fen: int = 10_00) -> Item:
    return Item(item_id, BusinessType.ORDINARY_DEBIT, A, C, fen, item_id)


def test_operator_requests_come_only_from_the_operator(world: World) -> None:
    refused(world, "wrong_bank", "nets.353", A, BkCd=A, Nd="NPC", Amt=5_000_00)
    refused(world, "wrong_bank", "nets.407", A, Actn="RSLV")
    refused(world, "wrong_bank", "ccms.925", B, SttlmTm=time(9))
    refused(world, "wrong_bank", "beps.411", OPERATOR_CODE, OrgnlTxId="X")
    ack = world.request("nets.353", OPERATOR_CODE, BkCd=A, Nd="NPC", Amt=5_000_00)
    assert ack.accepted and world.system.book.caps[A, "NPC"] == 5_000_00


def test_stop_payment_goes_to_the_payer_bank_and_its_answer_back(world: World) -> None:
    world.items("D1", debit("D1"))  # sent by C (the payee's bank) to A
    ack = world.request("beps.411", C, OrgnlTxId="D1")
    assert ack.accepted and [(x.item_id, x.processing.status) for x in ack.lines] == [
        ("D1", Status.AWAITING_RECEIPT)
    ]
    copies = world.centre.fetch(A)
    assert parse_message(copies[-1][1], world.keys).message.message_type == "beps.411"
    refused(world, "wrong_bank", "beps.412", C, OrgnlTxId="D1", Agrd=True)
    ack = world.request("beps.412", A, OrgnlTxId="D1", Agrd=True)
    assert ack.accepted and ack.lines[0].processing.status is Status.STOPPED
    assert parse_message(world.centre.fetch(C)[-1][1], world.keys).message.values["Agrd"] is True
    refused(world, "no_stop_request", "beps.412", A, OrgnlTxId="D1", Agrd=True)


def test_a_refused_request_changes_nothing_and_its_msg_id_may_come_again(world: World) -> None:
    refused(world, "unknown_item", "beps.413", A, OrgnlTxId="NOPE")
    world.items("R1", Item("R1", BusinessType.REAL_TIME_CREDIT, A, C, 5_00, "R1"))
    first = world.request("beps.413", A, msg_id="SAME", OrgnlTxId="R1")
    assert first.accepted and first.lines[0].processing.status is Status.REVERSED
    again = world.request("beps.413", A, msg_id="SAME", OrgnlTxId="R1")
    assert again.reason == "duplicate_message"


def test_earmarked_funds_move_the_cap_and_release_the_queue(world: World) -> None:
    queued = world.items("C1", Item("C1", BusinessType.ORDINARY_CREDIT, A, C, 1_500_00, "C1"))
    assert queued.lines[0].processing.status is Status.QUEUED
    ack = world.request("nets.405", A)
    assert [(x.item_id, x.processing.status) for x in ack.lines] == [("C1", Status.QUEUED)]
    refused(world, "amount", "nets.377", A, Nd="NPC", Amt=1_000_01)
    ack = world.request("nets.376", A, Nd="NPC", Amt=500_00)
    assert world.system.book.caps[A, "NPC"] == 1_500_00
    assert [(x.item_id, x.processing.status) for x in ack.lines] == [("C1", Status.NETTED)]
    world.request("nets.377", A, Nd="NPC", Amt=1_500_00)
    assert world.system.book.caps[A, "NPC"] == 0


def test_revocation_and_return_as_messages(world: World) -> None:
    world.items("P1", Item("Q1", BusinessType.ORDINARY_CREDIT, A, C, 2_000_00, "P1"))  # queues
    refused(world, "wrong_bank", "ccms.307", C, OrgnlMsgId="P1")
    ack = world.request("ccms.307", A, OrgnlMsgId="P1")
    assert ack.accepted and ack.lines[0].processing.status is Status.REVOKED
    world.items("P2", Item("N1", BusinessType.ORDINARY_CREDIT, A, C, 100_00, "P2"))
    refused(world, "wrong_bank", "ccms.318", A, OrgnlTxId="N1", TxId="RET1")
    ack = world.request("ccms.318", C, OrgnlTxId="N1", TxId="RET1")
    assert ack.accepted and ack.lines[0].item_id == "RET1"
    assert world.system.records["RET1"].item.return_of == "N1"


def test_an_agreement_request_without_its_fields_is_refused(world: World) -> None:
    refused(world, "schema_invalid", "beps.392", A, Actn="ADD", AgrmtId="AG1")


def test_a_request_failing_its_xsd_is_refused(world: World) -> None:
    header = Header("BAD1", T0, OPERATOR_CODE, CENTRE_CODE)
    data = build(
        RequestMessage("nets.407", header, {"Actn": "SHUFFLE"}), world.signers[OPERATOR_CODE]
    )
    before = world.state()
    ack = parse_message(world.centre.receive(data), world.keys).message
    assert isinstance(ack, Ack) and ack.reason == "schema_invalid"
    assert world.state() == before


def test_the_operator_moves_the_settlement_time_of_a_holiday_round(world: World) -> None:
    holiday = datetime(2025, 10, 3, 10, 0, tzinfo=SHANGHAI)
    system = ClearingSystem(
        [Participant(A, "1000", caps={NodeKind.NPC: 10**9}), Participant(C, "2900")],
        start=holiday, books=MemoryBooks(),
    )  # fmt: skip
    system.books.fund(A, 10**9)
    system.submit_item(Item("H1", BusinessType.ORDINARY_CREDIT, A, C, 1_00))
    system.close_round()
    waiting = [r for r in system.rounds.values() if r.settles_at is not None]
    assert waiting[0].settles_at == datetime(2025, 10, 9, 8, 30, tzinfo=SHANGHAI)
    system.set_settlement_time(time(10, 15))
    assert waiting[0].settles_at == datetime(2025, 10, 9, 10, 15, tzinfo=SHANGHAI)
    system.advance_to(datetime(2025, 10, 9, 10, 14, tzinfo=SHANGHAI))
    assert system.status("H1").status is Status.NETTED
    system.advance_to(datetime(2025, 10, 9, 10, 15, tzinfo=SHANGHAI))
    assert system.status("H1").status is Status.SETTLED
