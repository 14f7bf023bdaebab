"""Engine calls as records: what the centres' event log holds, and how it is replayed.

Every call that changes a :class:`~zhifu.clearing.engine.ClearingSystem`, other than the mere
passing of time, is one record: a JSON object with its kind (``type``), the engine's instant
when the call ran (``time``, ISO 8601) and the call's arguments, amounts in integer fen. The
kinds follow the engine API and the state file's items and events (``docs/clearing.md``):

========================  ===========================================================
``start``                 participants, configuration and calendar data: the system
``participants``          participants added later
``fund``                  ``bank``, ``amount``: pay into a settlement account
``packet``                a packet of instructions (``message``: the MsgId that carried it)
``receipts``              the receipts of one message, in order
``revoke`` / ``return``   a packet revoked, an item returned
``cap``                   ``bank``, ``node``, ``amount``: a net debit cap changed
``stop`` / ``stop_answer`` a stop-payment asked (``item``, ``bank``), answered (+ ``agree``)
``reverse``               ``item``, ``bank``: a real-time item reversed
``gridlock``              ``node`` (or null: every node): queues resolved together
``agreement``             ``agreement`` (limits in fen), ``bank``: an agreement registered
``agreement_revoke``      ``id``, ``bank``: an agreement ended
``settlement_time``       ``settles`` (``HH:MM:SS``): the operator moved the settlement time
``calendar``              the calendar data in use from then on
``clock``                 the engine moved to ``time`` on request (a round closed now)
========================  ===========================================================

Time passes between records by itself: round closes, settlements and expiries are a function of
the instants, so the scheduler's ticks are not written down. :class:`Recorder` runs the engine
calls and keeps their records; :func:`replay` rebuilds the system from them (same calls, same
instants, same outcomes: a call that raised an error raises it again and is passed over).

>>> from datetime import date, datetime, time
>>> from zhifu.clearing.codes import BusinessType
>>> from zhifu.clearing.model import Item, NodeKind, Packet, Participant
>>> from zhifu.clearing.settlement import MemoryBooks
>>> from zhifu.core.clock import SHANGHAI
>>> a = Participant("102100099996", "1000", caps={NodeKind.NPC: 10_000_00})
>>> b = Participant("103290000002", "2900", caps={NodeKind.NPC: 10_000_00})
>>> recorder = Recorder.start([a, b], datetime(2025, 10, 9, 10, tzinfo=SHANGHAI), MemoryBooks())
>>> recorder.fund(a.code, 1_000_000_00)
True
>>> item = Item("C1", BusinessType.ORDINARY_CREDIT, a.code, b.code, 123_45, "P1")
>>> [r.status.value for r in recorder.submit_packet(Packet("P1", a.code, item.business_type,
...     [item]), datetime(2025, 10, 9, 10, 30, tzinfo=SHANGHAI), message="P1")]
['PR03']
>>> records = recorder.take()
>>> [r["type"] for r in records], records[-1]["items"][0]["amount"]
(['start', 'fund', 'packet'], 12345)
>>> again = replay(records, MemoryBooks())
>>> again.status("C1").status.value, again.now == recorder.system.now
('PR03', True)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Final

from zhifu.clearing.agreements import Agreement
from zhifu.clearing.calendar.days import BusinessCalendar, CalendarData, ChineseCalendar
from zhifu.clearing.codes import BusinessType
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.model import (
    Item,
    ItemResult,
    NodeKind,
    Packet,
    Participant,
    Receipt,
    RequestResult,
)
from zhifu.clearing.rounds import RoundRecord
from zhifu.clearing.settlement import SettlementBooks
from zhifu.core.errors import UsageError, ZhifuError

__all__ = [
    "KINDS",
    "Record",
    "Recorder",
    "accepted_messages",
    "calendar_of",
    "participant_of",
    "participant_record",
    "participants_of",
    "replay",
]

Record = dict[str, Any]
KINDS: Final = (
    "start",
    "participants",
    "fund",
    "packet",
    "receipts",
    "revoke",
    "return",
    "cap",
    "stop",
    "stop_answer",
    "reverse",
    "gridlock",
    "agreement",
    "agreement_revoke",
    "settlement_time",
    "calendar",
    "clock",
)

log = logging.getLogger("zhifu.clearing.eventlog")


# -- participants, items and calendars as JSON ----------------------------------------------
def participant_record(p: Participant) -> dict[str, Any]:
    """A participant as JSON (caps in fen)."""
    out: dict[str, Any] = {"code": p.code, "city": p.city, "direct": p.direct}
    if p.via is not None:
        out["via"] = p.via
    if p.caps:
        out["caps"] = {NodeKind(k).value: v for k, v in sorted(p.caps.items())}
    if p.name:
        out["name"] = p.name
    return out


def participant_of(raw: Mapping[str, Any]) -> Participant:
    """The inverse of :func:`participant_record`."""
    caps = {NodeKind(k): int(v) for k, v in raw.get("caps", {}).items()}
    direct = bool(raw.get("direct", True))
    return Participant(raw["code"], raw["city"], direct, raw.get("via"), caps, raw.get("name", ""))


def _item_record(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item.item_id,
        "payer_bank": item.payer_bank,
        "payee_bank": item.payee_bank,
        "amount": item.amount,
    }
    if item.receipt_days is not None:
        out["receipt_days"] = item.receipt_days
    if item.return_of is not None:
        out["return_of"] = item.return_of
    if item.agreement is not None:
        out["agreement"] = item.agreement
    if item.category is not None:
        out["category"] = item.category
    return out


def _item_of(raw: Mapping[str, Any], business: BusinessType, packet_id: str) -> Item:
    return Item(
        raw["id"],
        business,
        raw["payer_bank"],
        raw["payee_bank"],
        raw["amount"],
        packet_id,
        raw.get("receipt_days"),
        raw.get("return_of"),
        raw.get("agreement"),
        raw.get("category"),
    )


def _agreement_record(a: Agreement) -> dict[str, Any]:
    return {
        "id": a.agreement_id, "kind": a.business_type.value, "payer_bank": a.payer_bank,
        "payee_bank": a.payee_bank, "item_limit": a.item_limit, "period": a.period,
        "period_limit": a.period_limit, "valid_from": a.valid_from.isoformat(),
        "valid_to": a.valid_to.isoformat(), "payer_account": a.payer_account,
    }  # fmt: skip


def _agreement_of(raw: Mapping[str, Any]) -> Agreement:
    return Agreement(
        raw["id"], BusinessType(raw["kind"]), raw["payer_bank"], raw["payee_bank"],
        raw["item_limit"], raw["period"], raw["period_limit"],
        date.fromisoformat(raw["valid_from"]), date.fromisoformat(raw["valid_to"]),
        raw.get("payer_account", ""),
    )  # fmt: skip


def _calendar_record(calendar: BusinessCalendar) -> dict[str, Any] | None:
    if not isinstance(calendar, ChineseCalendar):
        raise UsageError("only a ChineseCalendar can be written down", argument="calendar")
    data = calendar.data
    if data == CalendarData():
        return None
    return data.to_mapping()


def calendar_of(raw: Mapping[str, Any] | None) -> ChineseCalendar:
    """The calendar a ``start`` or ``calendar`` record names (None: the package's alone)."""
    return ChineseCalendar(None if raw is None else CalendarData.from_mapping(raw))


# -- recording ----------------------------------------------------------------------------------
class Recorder:
    """The entry points of a :class:`ClearingSystem` that also write down each call.

    The records wait in :attr:`pending` until :meth:`take`; the caller makes them durable before
    it tells anyone what they did. Each method first moves the engine to ``at`` (closing and
    settling what is due), then writes the record with the engine's instant, then makes the
    call: a call that raises leaves its record, since it may have changed something first.
    """

    def __init__(self, system: ClearingSystem, pending: Iterable[Record] = ()) -> None:
        self.system = system
        self.pending: list[Record] = list(pending)

    @classmethod
    def start(
        cls,
        participants: Sequence[Participant],
        at: datetime,
        books: SettlementBooks,
        *,
        config: ClearingConfig | None = None,
        calendar: ChineseCalendar | None = None,
    ) -> Recorder:
        """A new system, with its ``start`` record pending."""
        config = config or ClearingConfig()
        calendar = calendar or ChineseCalendar()
        system = ClearingSystem(
            participants, start=at, config=config, calendar=calendar, books=books
        )
        record = {
            "type": "start",
            "time": system.now.isoformat(),
            "participants": [participant_record(p) for p in participants],
            "config": config.to_mapping(),
            "calendar": _calendar_record(calendar),
        }
        return cls(system, [record])

    def take(self) -> list[Record]:
        """The pending records (and none pending afterwards)."""
        out, self.pending = self.pending, []
        return out

    def _note(self, kind: str, at: datetime | None, **fields: Any) -> None:
        self.system.advance_to(at)
        self.pending.append({"type": kind, "time": self.system.now.isoformat(), **fields})

    def add_participants(
        self, participants: Sequence[Participant], at: datetime | None = None
    ) -> None:
        self._note("participants", at, participants=[participant_record(p) for p in participants])
        self.system.add_participants(participants)

    def fund(self, bank: str, amount: int, at: datetime | None = None) -> bool:
        self._note("fund", at, bank=bank, amount=amount)
        return self.system.fund(bank, amount)

    def submit_packet(
        self, packet: Packet, at: datetime | None = None, *, message: str | None = None
    ) -> list[ItemResult]:
        self._note(
            "packet",
            at,
            packet=packet.packet_id,
            sender=packet.sender,
            business_type=packet.business_type.value,
            items=[_item_record(i) for i in packet.items],
            count=packet.count,
            control_sum=packet.control_sum,
            message=message,
        )
        return self.system.submit_packet(packet)

    def submit_receipts(
        self, receipts: Sequence[Receipt], at: datetime | None = None, *, message: str | None = None
    ) -> list[RequestResult]:
        rows = [{"item": r.item_id, "bank": r.bank, "code": r.code} for r in receipts]
        self._note("receipts", at, receipts=rows, message=message)
        return [self.system.submit_receipt(r) for r in receipts]

    def revoke_packet(
        self, packet_id: str, bank: str | None = None, at: datetime | None = None
    ) -> RequestResult:
        self._note("revoke", at, packet=packet_id, bank=bank)
        return self.system.revoke_packet(packet_id, bank)

    def submit_return(
        self, original_id: str, return_id: str, at: datetime | None = None
    ) -> ItemResult:
        self._note("return", at, item=original_id, id=return_id)
        return self.system.submit_return(original_id, return_id)

    def set_cap(
        self, bank: str, kind: NodeKind, amount: int, at: datetime | None = None
    ) -> list[ItemResult]:
        self._note("cap", at, bank=bank, node=NodeKind(kind).value, amount=amount)
        return self.system.set_cap(bank, kind, amount)

    def request_stop(self, item_id: str, bank: str, at: datetime | None = None) -> RequestResult:
        self._note("stop", at, item=item_id, bank=bank)
        return self.system.request_stop(item_id, bank)

    def answer_stop(
        self, item_id: str, bank: str, agree: bool, at: datetime | None = None
    ) -> RequestResult:
        self._note("stop_answer", at, item=item_id, bank=bank, agree=agree)
        return self.system.answer_stop(item_id, bank, agree)

    def reverse(self, item_id: str, bank: str, at: datetime | None = None) -> RequestResult:
        self._note("reverse", at, item=item_id, bank=bank)
        return self.system.reverse(item_id, bank)

    def resolve_gridlock(
        self, node: str | None = None, at: datetime | None = None
    ) -> list[ItemResult]:
        self._note("gridlock", at, node=node)
        return self.system.resolve_gridlock(node)

    def register_agreement(
        self, agreement: Agreement, bank: str, at: datetime | None = None
    ) -> RequestResult:
        self._note("agreement", at, agreement=_agreement_record(agreement), bank=bank)
        return self.system.register_agreement(agreement, bank)

    def revoke_agreement(
        self, agreement_id: str, bank: str, at: datetime | None = None
    ) -> RequestResult:
        self._note("agreement_revoke", at, id=agreement_id, bank=bank)
        return self.system.revoke_agreement(agreement_id, bank)

    def earmark(
        self, bank: str, kind: NodeKind, delta: int, at: datetime | None = None
    ) -> RequestResult:
        """Earmarked funds: written down as the ``cap`` they result in (when accepted)."""
        self.system.advance_to(at)
        if self.system.earmark_reason(bank, kind, delta) is not None:
            return self.system.earmark(bank, kind, delta)
        cap = self.system.book.caps.get((bank, NodeKind(kind).value), 0) + delta
        return RequestResult(True, None, tuple(self.set_cap(bank, kind, cap)))

    def set_settlement_time(self, at_time: time, at: datetime | None = None) -> None:
        self._note("settlement_time", at, settles=at_time.isoformat())
        self.system.set_settlement_time(at_time)

    def tag_message(self, msg_id: str) -> None:
        """Mark the last call as carried by message ``msg_id`` (accepted: never taken again)."""
        assert self.pending, "no call to tag"
        self.pending[-1]["message"] = msg_id

    def use_calendar(self, calendar: ChineseCalendar, at: datetime | None = None) -> None:
        self._note("calendar", at, calendar=_calendar_record(calendar))
        self.system.use_calendar(calendar)

    def close_round(self) -> RoundRecord | None:
        """Close the current round now (the engine moves to its close instant)."""
        record = self.system.close_round()
        self._note("clock", None)
        return record


# -- replaying ----------------------------------------------------------------------------------
def _at(record: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(record["time"])


def _packet(system: ClearingSystem, r: Record) -> None:
    business = BusinessType(r["business_type"])
    items = [_item_of(i, business, r["packet"]) for i in r["items"]]
    packet = Packet(r["packet"], r["sender"], business, items, r["count"], r["control_sum"])
    system.submit_packet(packet)


def _receipts(system: ClearingSystem, r: Record) -> None:
    for row in r["receipts"]:
        system.submit_receipt(Receipt(row["item"], row["bank"], row["code"]))


_APPLY: Final[dict[str, Callable[[ClearingSystem, Record], object]]] = {
    "participants": lambda s, r: s.add_participants(participants_of([r])),
    "fund": lambda s, r: s.fund(r["bank"], r["amount"]),
    "packet": _packet,
    "receipts": _receipts,
    "revoke": lambda s, r: s.revoke_packet(r["packet"], r["bank"]),
    "return": lambda s, r: s.submit_return(r["item"], r["id"]),
    "cap": lambda s, r: s.set_cap(r["bank"], NodeKind(r["node"]), r["amount"]),
    "stop": lambda s, r: s.request_stop(r["item"], r["bank"]),
    "stop_answer": lambda s, r: s.answer_stop(r["item"], r["bank"], r["agree"]),
    "reverse": lambda s, r: s.reverse(r["item"], r["bank"]),
    "gridlock": lambda s, r: s.resolve_gridlock(r["node"]),
    "agreement": lambda s, r: s.register_agreement(_agreement_of(r["agreement"]), r["bank"]),
    "agreement_revoke": lambda s, r: s.revoke_agreement(r["id"], r["bank"]),
    "settlement_time": lambda s, r: s.set_settlement_time(time.fromisoformat(r["settles"])),
    "calendar": lambda s, r: s.use_calendar(calendar_of(r["calendar"])),
    "clock": lambda s, r: None,
}


def participants_of(records: Iterable[Mapping[str, Any]]) -> list[Participant]:
    """Every participant the ``start`` and ``participants`` records register, in order."""
    out = []
    for record in records:
        if record["type"] in ("start", "participants"):
            out += [participant_of(p) for p in record["participants"]]
    return out


def accepted_messages(records: Iterable[Mapping[str, Any]]) -> set[str]:
    """The MsgIds of the messages the records carry (a centre refuses them again)."""
    return {r["message"] for r in records if r.get("message")}


def replay(
    records: Sequence[Record], books: SettlementBooks, *, kept_books: bool = False
) -> ClearingSystem:
    """The system the records describe, at the instant of the last one.

    ``kept_books``: the books are the ones the recorded run posted to (the settlement ledger of
    ``zhifu serve``, which outlives the process); ``books.replaying`` is then set meanwhile, so
    they answer from the batches they hold instead of writing them again. Fresh books (a
    replay elsewhere, in memory) are posted to as the run did.
    """
    if not records or records[0]["type"] != "start":
        raise UsageError("an event log begins with its start record", argument="records")
    first = records[0]
    system = ClearingSystem(
        participants_of([first]),
        start=_at(first),
        config=ClearingConfig.from_mapping(first["config"]),
        calendar=calendar_of(first["calendar"]),
        books=books,
    )
    books.replaying = kept_books
    try:
        for record in records[1:]:
            system.advance_to(_at(record))
            try:
                _APPLY[record["type"]](system, record)
            except ZhifuError as exc:  # it failed the same way when it ran
                log.debug("replayed %s at %s failed again: %s", record["type"], record["time"], exc)
    finally:
        books.replaying = False
    return system
