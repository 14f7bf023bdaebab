"""A scenario through the XML centre: every item, receipt and request as a signed message.

``zhifu clearing simulate DAY.json --xml`` replays a scenario the way banks and the operator
would live: each bank and the central bank's operator get an SM2 key in a security module, the
centre knows their public keys, and every instruction (a packet's items arriving together), every
receipt and every request is built as its CNAPS2-like message, signed, sent to a
:class:`~zhifu.clearing.transport.ClearingCentre` (parsed, validated against its XSD, its
signature verified) and answered by its signed ``ccms.900``. The outcome has the shape of
:func:`~zhifu.clearing.simulate.run_scenario`'s, so the two can be compared: the same scenario
gives the same items, positions, settlements and answers (``docs/clearing.md`` §16).

What has no BEPS message: paying into a settlement account (``fund``: an HVPS/SAPS transfer)
is made on the engine directly. A packet's items must arrive at one instant (one message); an
item naming a bank that is not a participant makes its whole message refused (``unknown_bank``)
where the engine refuses the item alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from zhifu.clearing.codes import Reason
from zhifu.clearing.config import parse_yuan
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.messages.build import build, make_instruction
from zhifu.clearing.messages.model import CENTRE_CODE, Ack, Header, ReceiptLine, ReceiptMessage
from zhifu.clearing.messages.parse import parse_message
from zhifu.clearing.messages.requests import OPERATOR_CODE, RequestMessage
from zhifu.clearing.model import Item
from zhifu.clearing.settlement import LedgerBooks
from zhifu.clearing.signing import Signer
from zhifu.clearing.simulate import (
    Scenario,
    ScenarioItem,
    agreement_of,
    outcome_of,
    parse_clock,
    signed_yuan,
)
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import FixedClock
from zhifu.core.errors import UsageError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

__all__ = ["run_scenario_xml"]

_TYPE_CODE: Final = {"periodic_credit": "E100", "periodic_debit": "F100"}
_PERIOD: Final = {"day": "DAY", "month": "MNTH"}


@dataclass
class _World:
    """The centre, the engine under it, one signer per bank and the operator, the clock."""

    system: ClearingSystem
    centre: ClearingCentre
    clock: FixedClock
    signers: dict[str, Signer]
    ids: Iterator[int]

    def send(self, at: datetime, message: Any) -> Ack:
        self.clock.advance((at - self.clock.now()).total_seconds())
        answer = self.centre.receive(build(message, self.signers[message.header.sender]))
        ack = parse_message(answer, None).message
        assert isinstance(ack, Ack)
        return ack

    def header(self, sender: str, at: datetime, count: int = 0, total: int = 0) -> Header:
        return Header(f"X{next(self.ids):08d}", at, sender, CENTRE_CODE, count, total)

    def request(self, at: datetime, code: str, sender: str, **values: Any) -> Ack:
        found = {k: v for k, v in values.items() if v is not None}
        return self.send(at, RequestMessage(code, self.header(sender, at), found))


def _world(scenario: Scenario) -> _World:
    calendar = scenario.calendar()
    start, _ = scenario.bounds(calendar)
    system = ClearingSystem(
        scenario.participants, start=start, config=scenario.config, calendar=calendar,
        books=LedgerBooks.in_memory(),
    )  # fmt: skip
    for bank, amount in sorted(scenario.reserves.items()):
        if amount:
            system.books.fund(bank, amount)
    hsm = SoftHsm(KeyStore.in_memory())
    clock = FixedClock(start)
    centre = ClearingCentre.create(system, hsm, clock)
    signers = {}
    for code in [*system.participants, OPERATOR_CODE]:
        key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2, label=f"bank {code}")
        centre.register(code, hsm.get_public_key(key))
        signers[code] = Signer(hsm, key, code)
    return _World(system, centre, clock, signers, itertools.count(1))


def _answer(ack: Ack) -> dict[str, Any]:
    return {"accepted": ack.accepted, "reason": ack.reason}


def _items(world: _World, at: datetime, items: list[Item]) -> None:
    world.send(at, make_instruction(items, items[0].packet, at, receiver=CENTRE_CODE))


def _receipt(world: _World, at: datetime, item_id: str, bank: str, code: str) -> dict[str, Any]:
    record = world.system.records.get(item_id)
    amount = record.item.amount if record is not None else 0
    header = world.header(bank, at, 1, amount)
    line = ReceiptLine(item_id, amount, code)
    ack = world.send(at, ReceiptMessage(_receipt_type(world, item_id), header, (line,)))
    if not ack.accepted:
        return {"target": item_id, **_answer(ack)}
    status = ack.lines[0].processing
    # The receipt itself was refused only for these; any other PR09 (the bank's refusal, a
    # real-time item over its cap) is what happened to the item after the receipt was taken.
    refused = status.status.value == "PR09" and status.reason in _RECEIPT_REFUSALS
    reason = status.reason if refused else None
    return {"target": item_id, "accepted": not refused, "reason": reason}


_RECEIPT_REFUSALS: Final = frozenset(
    r.value
    for r in (Reason.UNKNOWN_ITEM, Reason.NOT_AWAITING, Reason.RECEIPT_LATE, Reason.WRONG_BANK)
)


def _receipt_type(world: _World, item_id: str) -> str:
    record = world.system.records.get(item_id)
    found = record.item.spec.receipt_message if record is not None else None
    return found or "beps.128"


def _event_bank(world: _World, data: Mapping[str, Any], side: str) -> str:
    if data.get("bank"):
        return str(data["bank"])
    record = world.system.records.get(str(data.get("item")))
    return "" if record is None else str(getattr(record.item, side))


Handler = Callable[[_World, datetime, Mapping[str, Any]], dict[str, Any]]


def _revoke(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    packet = str(data.get("packet"))
    found = world.system.packets.get(packet)
    sender = str(data.get("bank") or (found.sender if found else OPERATOR_CODE))
    ack = world.request(at, "ccms.307", sender, OrgnlMsgId=packet)
    return {"target": packet, **_answer(ack)}


def _return(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    item = str(data.get("item"))
    record = world.system.records.get(item)
    sender = record.item.payee_bank if record is not None else OPERATOR_CODE
    ack = world.request(at, "ccms.318", sender, OrgnlTxId=item, TxId=str(data.get("id")))
    return {"target": item, "id": data.get("id"), **_answer(ack)}


def _cap(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    ack = world.request(
        at, "nets.353", OPERATOR_CODE, BkCd=str(data.get("bank")), Nd=str(data.get("node")),
        Amt=parse_yuan(data.get("amount"), "amount"),
    )  # fmt: skip
    return {"target": data.get("bank"), **_answer(ack)}


def _fund(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    world.clock.advance((at - world.clock.now()).total_seconds())
    done = world.system.fund(str(data.get("bank")), parse_yuan(data.get("amount"), "amount"), at)
    return {"target": data.get("bank"), "accepted": done, "reason": None}


def _gridlock(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    ack = world.request(at, "nets.407", OPERATOR_CODE, Actn="RSLV", Nd=data.get("node"))
    released = [line.item_id for line in ack.lines]
    return {"target": data.get("node") or "*", **_answer(ack), "released": released}


def _about_item(code: str, side: str) -> Handler:
    def run(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
        item = str(data.get("item"))
        sender = _event_bank(world, data, side) or OPERATOR_CODE
        extra = {"Agrd": bool(data.get("agree"))} if code == "beps.412" else {}
        ack = world.request(at, code, sender, OrgnlTxId=item, **extra)
        return {"target": item, **_answer(ack)}

    return run


def _agreement(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    deal = agreement_of(data)
    sender = str(data.get("bank") or deal.payer_bank)
    ack = world.request(
        at, "beps.392", sender, Actn="ADD", AgrmtId=deal.agreement_id,
        AgrmtTp=_TYPE_CODE[deal.business_type.value], DbtrAgt=deal.payer_bank,
        DbtrAcct=deal.payer_account or None, CdtrAgt=deal.payee_bank, ItmLmt=deal.item_limit,
        Prd=_PERIOD[deal.period], PrdLmt=deal.period_limit, VldFr=deal.valid_from,
        VldTo=deal.valid_to,
    )  # fmt: skip
    return {"target": deal.agreement_id, **_answer(ack)}


def _agreement_revoke(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    target = str(data.get("id"))
    found = world.system.agreements.agreements.get(target)
    sender = str(data.get("bank") or (found.payer_bank if found else OPERATOR_CODE))
    ack = world.request(at, "beps.392", sender, Actn="DEL", AgrmtId=target)
    return {"target": target, **_answer(ack)}


def _receipt_event(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    item = str(data.get("item"))
    bank = _event_bank(world, data, "receiver") or OPERATOR_CODE
    return _receipt(world, at, item, bank, str(data.get("outcome", "00")))


def _earmark(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    delta = signed_yuan(data.get("amount"), "amount")
    code = "nets.376" if delta >= 0 else "nets.377"
    ack = world.request(at, code, str(data.get("bank")), Nd=str(data.get("node")), Amt=abs(delta))
    return {"target": data.get("bank"), **_answer(ack)}


def _settlement_time(world: _World, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    settles = parse_clock(data.get("settles"), "settles")
    ack = world.request(at, "ccms.925", OPERATOR_CODE, SttlmTm=settles)
    return {"target": data.get("settles"), **_answer(ack)}


_HANDLERS: Final[dict[str, Handler]] = {
    "receipt": _receipt_event,
    "revoke": _revoke,
    "return": _return,
    "cap": _cap,
    "fund": _fund,
    "gridlock": _gridlock,
    "stop": _about_item("beps.411", "sender"),
    "stop_answer": _about_item("beps.412", "receiver"),
    "reverse": _about_item("beps.413", "sender"),
    "agreement": _agreement,
    "agreement_revoke": _agreement_revoke,
    "earmark": _earmark,
    "settlement_time": _settlement_time,
}


def _packets(timeline: list[tuple[datetime, str, Any]]) -> Iterator[tuple[datetime, str, Any]]:
    """The timeline with the items of one packet at one instant gathered into one entry."""
    pending: list[Item] = []
    at: datetime | None = None
    sent: set[str] = set()
    for when, kind, payload in timeline:
        if kind == "item":
            item = payload.item
            if pending and (when != at or item.packet != pending[0].packet):
                yield at, "items", pending  # type: ignore[misc]
                pending = []
            if item.packet in sent and not pending:
                raise UsageError(
                    f"packet {item.packet}: its items must arrive together to travel as one "
                    "message", argument="items",
                )  # fmt: skip
            sent.add(item.packet)
            pending.append(item)
            at = when
            continue
        if pending:
            yield at, "items", pending  # type: ignore[misc]
            pending = []
        yield when, kind, payload
    if pending:
        yield at, "items", pending  # type: ignore[misc]


def run_scenario_xml(
    scenario: Scenario, *, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Replay ``scenario`` through the XML centre; the outcome (see the module docstring)."""
    world = _world(scenario)
    _, end = scenario.bounds(scenario.calendar())
    requests: list[dict[str, Any]] = []
    steps = list(_packets(scenario.timeline()))
    try:
        for done, (at, kind, payload) in enumerate(steps, 1):
            if progress is not None and (done % 64 == 0 or done == len(steps)):
                progress(done, len(steps))
            if kind == "items":
                _items(world, at, payload)
                continue
            if isinstance(payload, ScenarioItem):
                item = payload.item
                answer = _receipt(world, at, item.item_id, item.receiver, payload.receipt_code)
                requests.append({"time": at.isoformat(), "type": kind, **answer})
                continue
            answer = _HANDLERS[kind](world, at, payload.data)
            requests.append({"time": at.isoformat(), "type": kind, **answer})
        world.system.advance_to(end)
        return outcome_of(world.system, requests)
    finally:
        world.system.books.close()
