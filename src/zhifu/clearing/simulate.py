"""Replay a scenario (participants, config, items, events) on a fresh in-memory system.

The scenario format is documented in ``docs/clearing.md``; a key the format does not know is
refused with its path (:mod:`zhifu.clearing.scenario_schema`), and so is every bad value, named
by its path in the file (``items[0].amount``). Times are ISO 8601; without an
offset they are Beijing time. Amounts are decimal yuan strings. Events at the same instant run
in input order, items before other events, an item's own receipt right after the item. The run
ends at ``until`` or, by default, at the day-end (16:00) of the settlement date of the last
event's BEPS date, when everything netted by then has settled.

>>> scenario = Scenario.from_mapping({
...     "participants": [
...         {"code": "102100099996", "city": "1000", "caps": {"NPC": "1000.00"}},
...         {"code": "103290000002", "city": "2900", "caps": {"NPC": "1000.00"}}],
...     "items": [{"id": "C1", "time": "2025-10-09T10:00:00", "type": "ordinary_credit",
...                "payer_bank": "102100099996", "payee_bank": "103290000002",
...                "amount": "12.34"}]})
>>> outcome = run_scenario(scenario)
>>> outcome["items"][0]["status"], outcome["settlements"][0]["net"]
('PR04', '-12.34')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Final

from zhifu.clearing.agreements import PERIODIC, Agreement
from zhifu.clearing.bankcore import BankCores
from zhifu.clearing.calendar.days import BusinessCalendar, CalendarData, ChineseCalendar, beps_date
from zhifu.clearing.codes import RECEIPT_SUCCESS, BusinessType
from zhifu.clearing.config import ClearingConfig, parse_yuan
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.model import Item, NodeKind, Participant, Receipt
from zhifu.clearing.reports import (
    bilateral_rows,
    participant_rows,
    reconcile,
    round_rows,
    settlement_rows,
)
from zhifu.clearing.scenario_schema import check_scenario, key_path
from zhifu.clearing.settlement import LedgerBooks, MemoryBooks, SettlementBooks
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

DEFAULT_RESERVE: Final = "1000000000.00"  # opening settlement-account balance, yuan
Progress = Callable[[int, int], None]


def parse_instant(text: object, argument: str = "time") -> datetime:
    """An ISO 8601 instant; a naive one is Beijing time."""
    if not isinstance(text, str):
        raise UsageError("times are ISO 8601 strings", argument=argument)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"not an ISO 8601 time: {text!r}", argument=argument) from None
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value.astimezone(SHANGHAI)


@dataclass(frozen=True, slots=True)
class ScenarioItem:
    """An item of a scenario, with its submission time and optional receipt."""

    item: Item
    time: datetime
    receipt_time: datetime | None = None
    receipt_code: str = RECEIPT_SUCCESS


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    """A receipt, revocation, return, cap change or funding, at a time."""

    kind: str
    time: datetime
    data: Mapping[str, Any]


@dataclass
class Scenario:
    """A parsed scenario."""

    participants: list[Participant]
    config: ClearingConfig = field(default_factory=ClearingConfig)
    items: list[ScenarioItem] = field(default_factory=list)
    events: list[ScenarioEvent] = field(default_factory=list)
    reserves: dict[str, int] = field(default_factory=dict)
    start: datetime | None = None
    until: datetime | None = None
    calendar_data: CalendarData | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Scenario:
        """Parse the JSON form (see ``docs/clearing.md``); errors name the path in it."""
        check_scenario(data)
        raw = data.get("participants")
        if not isinstance(raw, list) or not raw:
            raise UsageError("list the participants", argument="participants")
        participants = [_participant(p, f"participants[{i}]") for i, p in enumerate(raw)]
        reserves = {
            str(p["code"]): parse_yuan(
                p.get("reserve", DEFAULT_RESERVE), f"participants[{i}].reserve"
            )
            for i, p in enumerate(raw)
            if p.get("direct", True)
        }
        config = _config(data.get("config", {}))
        items = [_item(x, f"items[{i}]") for i, x in enumerate(data.get("items", []))]
        ids = [s.item.item_id for s in items]
        if len(set(ids)) != len(ids):
            raise UsageError("item ids must be unique", argument="items")
        events = [_event(e, f"events[{i}]") for i, e in enumerate(data.get("events", []))]
        extra = _calendar_data(config.calendar_file)
        start = parse_instant(data["start"], "start") if "start" in data else None
        until = parse_instant(data["until"], "until") if "until" in data else None
        return cls(participants, config, items, events, reserves, start, until, extra)

    def calendar(self) -> BusinessCalendar:
        return ChineseCalendar(self.calendar_data)

    def timeline(self) -> list[tuple[datetime, str, Any]]:
        """Every action in the order it runs: (time, kind, payload)."""
        keyed: list[tuple[tuple[datetime, int, int, int], str, Any]] = []
        for index, s in enumerate(self.items):
            keyed.append(((s.time, 0, index, 0), "item", s))
            if s.receipt_time is not None:
                if s.receipt_time < s.time:
                    raise UsageError("a receipt comes after its item", argument="receipt")
                keyed.append(((s.receipt_time, 0, index, 1), "receipt", s))
        for index, e in enumerate(self.events):
            keyed.append(((e.time, 1, index, 0), e.kind, e))
        keyed.sort(key=lambda k: k[0])
        return [(key[0], kind, payload) for key, kind, payload in keyed]

    def bounds(self, calendar: BusinessCalendar) -> tuple[datetime, datetime]:
        """The instant the run starts and the one it ends."""
        times = [s.time for s in self.items] + [e.time for e in self.events]
        times += [s.receipt_time for s in self.items if s.receipt_time is not None]
        if not times and (self.start is None or self.until is None):
            raise UsageError("a scenario without items needs start and until", argument="items")
        start = self.start or min(times)
        if self.until is not None:
            end = self.until
        else:
            last_day = beps_date(max(times), self.config.schedule.cutoff)
            settle_day = calendar.next_working_day_on_or_after(last_day)
            end = self.config.schedule.close_instant(
                (settle_day, self.config.schedule.rounds_per_day)
            )
        if times and (min(times) < start or max(times) > end):
            raise UsageError("every event must fall between start and until", argument="until")
        return start, end


def _located(exc: UsageError, path: str, names: Mapping[str, str] | None = None) -> UsageError:
    """``exc`` with its argument placed at ``path`` (``amount`` -> ``items[0].amount``)."""
    key = exc.argument or ""
    return UsageError(exc.message, argument=key_path(path, (names or {}).get(key, key)))


def _config(raw: Mapping[str, Any]) -> ClearingConfig:
    try:
        return ClearingConfig.from_mapping(raw)
    except UsageError as exc:
        raise _located(exc, "config") from None


def _calendar_data(path: str | None) -> CalendarData | None:
    if not path:
        return None
    try:
        return CalendarData.load(path)
    except OSError as exc:
        why = f"cannot read {path}: {exc.strerror}"
    except UsageError as exc:
        why = f"{path}: {exc.message}"
    raise UsageError(why, argument="config.calendar")


def _participant(raw: Mapping[str, Any], where: str) -> Participant:
    caps = {NodeKind(k): parse_yuan(v, f"{where}.caps.{k}") for k, v in raw.get("caps", {}).items()}
    try:
        return Participant(
            raw["code"],
            raw["city"],
            raw.get("direct", True),
            raw.get("via"),
            caps,
            raw.get("name", ""),
        )
    except UsageError as exc:
        raise _located(exc, where) from None


def _item(raw: Mapping[str, Any], where: str) -> ScenarioItem:
    try:
        business = BusinessType(raw["type"])
    except ValueError:
        raise UsageError(
            f"unknown business type {raw['type']!r}", argument=f"{where}.type"
        ) from None
    amount = parse_yuan(raw["amount"], f"{where}.amount")
    try:
        item = Item(
            raw["id"],
            business,
            raw["payer_bank"],
            raw["payee_bank"],
            amount,
            raw.get("packet"),
            raw.get("receipt_days"),
            agreement=raw.get("agreement"),
            category=raw.get("category"),
        )
    except UsageError as exc:
        raise _located(exc, where, {"item_id": "id", "packet_id": "packet"}) from None
    time = parse_instant(raw["time"], f"{where}.time")
    receipt = raw.get("receipt")
    if receipt is None:
        return ScenarioItem(item, time)
    return ScenarioItem(
        item,
        time,
        parse_instant(receipt["time"], f"{where}.receipt.time"),
        receipt.get("outcome", RECEIPT_SUCCESS),
    )


def _event(raw: Mapping[str, Any], where: str) -> ScenarioEvent:
    """An event, its values checked now rather than when the replay reaches it."""
    kind = raw["type"]
    if "amount" in raw and kind != "earmark":
        parse_yuan(raw["amount"], f"{where}.amount")
    if kind == "agreement":
        agreement_of(raw, where)
    if kind == "earmark":
        signed_yuan(raw["amount"], f"{where}.amount")
    if kind == "settlement_time":
        parse_clock(raw["settles"], f"{where}.settles")
    if kind in ("cap", "earmark") and raw["node"] not in set(NodeKind):
        nodes = ", ".join(NodeKind)
        raise UsageError(f"one of {nodes}, not {raw['node']!r}", argument=f"{where}.node")
    return ScenarioEvent(str(kind), parse_instant(raw["time"], f"{where}.time"), raw)


def run_scenario(
    scenario: Scenario, *, ledger: bool = True, progress: Progress | None = None
) -> dict[str, Any]:
    """Replay on a fresh system; the outcome as a JSON-ready mapping."""
    system, requests = replay(scenario, ledger=ledger, progress=progress)
    try:
        return outcome_of(system, requests)
    finally:
        system.books.close()


def replay(
    scenario: Scenario, *, ledger: bool = True, progress: Progress | None = None
) -> tuple[ClearingSystem, list[dict[str, Any]]]:
    """Replay a scenario; the system at the end and the answers to its requests."""
    calendar = scenario.calendar()
    start, end = scenario.bounds(calendar)
    books: SettlementBooks = LedgerBooks.in_memory() if ledger else MemoryBooks()
    system = ClearingSystem(
        scenario.participants, start=start, config=scenario.config, calendar=calendar, books=books
    )
    for bank, amount in sorted(scenario.reserves.items()):
        if amount:
            system.books.fund(bank, amount)
    timeline = scenario.timeline()
    requests: list[dict[str, Any]] = []
    for done, (at, kind, payload) in enumerate(timeline, 1):
        answer = _apply(system, at, kind, payload)
        if answer is not None:
            requests.append({"time": at.isoformat(), "type": kind, **answer})
        if progress is not None and (done % 4096 == 0 or done == len(timeline)):
            progress(done, len(timeline))
    system.advance_to(end)
    return system, requests


def _apply(system: ClearingSystem, at: datetime, kind: str, payload: Any) -> dict[str, Any] | None:
    if kind == "item":
        system.submit_item(payload.item, at)
        return None
    if isinstance(payload, ScenarioItem):
        receipt = Receipt(payload.item.item_id, payload.item.receiver, payload.receipt_code)
        result = system.submit_receipt(receipt, at)
        return {"target": receipt.item_id, **_answer(result.accepted, result.reason)}
    return _HANDLERS[kind](system, at, payload.data)


def _receipt(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    item_id = str(data.get("item"))
    record = system.records.get(item_id)
    bank = data.get("bank") or (record.item.receiver if record else "")
    code = str(data.get("outcome", RECEIPT_SUCCESS))
    result = system.submit_receipt(Receipt(item_id, bank, code), at)
    return {"target": item_id, **_answer(result.accepted, result.reason)}


def _revoke(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    result = system.revoke_packet(str(data.get("packet")), data.get("bank"), at)
    return {"target": data.get("packet"), **_answer(result.accepted, result.reason)}


def _return(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    result = system.submit_return(str(data.get("item")), str(data.get("id")), at)
    answer = _answer(result.reason is None, result.reason)
    return {"target": data.get("item"), "id": data.get("id"), **answer}


def _cap(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    node = NodeKind(str(data.get("node")))
    system.set_cap(str(data.get("bank")), node, parse_yuan(data.get("amount"), "amount"), at)
    return {"target": data.get("bank"), **_answer(True, None)}


def _fund(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    done = system.fund(str(data.get("bank")), parse_yuan(data.get("amount"), "amount"), at)
    return {"target": data.get("bank"), **_answer(done, None)}


def _gridlock(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    released = system.resolve_gridlock(data.get("node"), at)
    answer = _answer(True, None)
    return {"target": data.get("node") or "*", **answer, "released": [r.item_id for r in released]}


def _bank(system: ClearingSystem, data: Mapping[str, Any], side: str) -> str:
    """The event's bank, by default the item's sender (``side`` "sender") or receiver."""
    if data.get("bank"):
        return str(data["bank"])
    record = system.records.get(str(data.get("item")))
    return "" if record is None else str(getattr(record.item, side))


def _stop(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    item = str(data.get("item"))
    result = system.request_stop(item, _bank(system, data, "sender"), at)
    return {"target": item, **_answer(result.accepted, result.reason)}


def _stop_answer(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    item = str(data.get("item"))
    bank = _bank(system, data, "receiver")
    result = system.answer_stop(item, bank, bool(data.get("agree")), at)
    return {"target": item, **_answer(result.accepted, result.reason)}


def _reverse(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    item = str(data.get("item"))
    result = system.reverse(item, _bank(system, data, "sender"), at)
    return {"target": item, **_answer(result.accepted, result.reason)}


def agreement_of(raw: Mapping[str, Any], where: str = "agreement") -> Agreement:
    """An agreement from a scenario event (amounts in yuan, dates ISO)."""
    kind = raw.get("kind")
    if kind not in {b.value for b in PERIODIC}:
        raise UsageError("periodic_credit or periodic_debit", argument=f"{where}.kind")
    days = {}
    for key in ("valid_from", "valid_to"):
        try:
            days[key] = date.fromisoformat(str(raw.get(key)))
        except ValueError:
            raise UsageError("a date such as 2025-10-09", argument=f"{where}.{key}") from None
    try:
        return Agreement(
            str(raw["id"]),
            BusinessType(kind),
            str(raw["payer_bank"]),
            raw.get("payee_bank"),
            parse_yuan(raw["item_limit"], f"{where}.item_limit"),
            str(raw.get("period", "month")),
            parse_yuan(raw["period_limit"], f"{where}.period_limit"),
            days["valid_from"],
            days["valid_to"],
            str(raw.get("payer_account", "")),
        )
    except UsageError as exc:
        raise _located(exc, where, {"agreement_id": "id", "business_type": "kind"}) from None


def _agreement(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    deal = agreement_of(data)
    result = system.register_agreement(deal, str(data.get("bank") or deal.payer_bank), at)
    return {"target": deal.agreement_id, **_answer(result.accepted, result.reason)}


def _agreement_revoke(
    system: ClearingSystem, at: datetime, data: Mapping[str, Any]
) -> dict[str, Any]:
    target = str(data.get("id"))
    found = system.agreements.agreements.get(target)
    bank = data.get("bank") or (found.payer_bank if found else "")
    result = system.revoke_agreement(target, str(bank), at)
    return {"target": target, **_answer(result.accepted, result.reason)}


def signed_yuan(text: object, argument: str) -> int:
    """A decimal yuan string that may start with ``-``, in fen (earmarks: ``-`` releases)."""
    if isinstance(text, str) and text.startswith("-"):
        return -parse_yuan(text[1:], argument)
    return parse_yuan(text, argument)


def parse_clock(text: object, argument: str) -> time:
    """A time of day ``HH:MM`` or ``HH:MM:SS``."""
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise UsageError("a time of day such as 10:15", argument=argument) from None


def _earmark(system: ClearingSystem, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    delta = signed_yuan(data.get("amount"), "amount")
    result = system.earmark(str(data.get("bank")), NodeKind(str(data.get("node"))), delta, at)
    return {"target": data.get("bank"), **_answer(result.accepted, result.reason)}


def _settlement_time(
    system: ClearingSystem, at: datetime, data: Mapping[str, Any]
) -> dict[str, Any]:
    system.set_settlement_time(parse_clock(data.get("settles"), "settles"), at)
    return {"target": data.get("settles"), **_answer(True, None)}


_HANDLERS: Final = {
    "receipt": _receipt,
    "revoke": _revoke,
    "return": _return,
    "cap": _cap,
    "fund": _fund,
    "gridlock": _gridlock,
    "stop": _stop,
    "stop_answer": _stop_answer,
    "reverse": _reverse,
    "agreement": _agreement,
    "agreement_revoke": _agreement_revoke,
    "earmark": _earmark,
    "settlement_time": _settlement_time,
}


def _answer(accepted: bool, reason: object) -> dict[str, Any]:
    return {"accepted": accepted, "reason": str(reason) if reason is not None else None}


def outcome_of(
    system: ClearingSystem, requests: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The simulate output of a system (see ``docs/clearing.md``)."""
    system.check()
    days = sorted({r.netted_round[0] for r in system.records.values() if r.netted_round})
    recons = [reconcile(system, day) for day in days]
    items = []
    for record in system.records.values():
        day, number = record.netted_round or (None, None)
        items.append(
            {
                "id": record.item.item_id,
                "status": record.status.value,
                "reason": record.reason.value if record.reason else None,
                "netting_date": day.isoformat() if day else None,
                "round": number,
                "node": record.node or None,
            }
        )
    return {
        "end": system.now.isoformat(),
        "items": items,
        "bilateral": bilateral_rows(system),
        "participants": participant_rows(system),
        "settlements": settlement_rows(system),
        "rounds": round_rows(system),
        "requests": list(requests),
        "checks": {
            "positions_sum_to_zero": True,  # system.check() asserted it
            "books_balanced": system.books.balanced(),
            "reconciled": all(r.balanced for r in recons),
            "customers_reconciled": customers_reconciled(system, days),
        },
    }


def customers_reconciled(system: ClearingSystem, days: Sequence[date]) -> bool:
    """Every bank's core ledger (:mod:`zhifu.clearing.bankcore`) agrees with the centre's
    summary of each BEPS date, and every direct participant's reserve with the PBOC ledger."""
    cores = BankCores(system)
    try:
        cores.sync()
        return all(c.matches for day in days for c in cores.check(day))
    finally:
        cores.close()
