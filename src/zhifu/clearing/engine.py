"""``ClearingSystem``: the item-by-item BEPS engine (NPC + CCPCs + SAPS) behind one façade.

The front-end layer (CNAPS2-like XML, signatures, HTTP) calls :meth:`submit_packet` /
:meth:`submit_item` for instructions, :meth:`submit_receipt` for receipts,
:meth:`revoke_packet` and :meth:`submit_return`; each returns outcome values (status and
reason), never raises for a business refusal. Time only moves through :meth:`advance_to` (or
the ``at=`` of each call): round closes, settlements and expiries happen on the way, in time
order, before anything at the same instant.

>>> from datetime import datetime
>>> from zhifu.core.clock import SHANGHAI
>>> from zhifu.clearing.settlement import MemoryBooks
>>> from zhifu.clearing.codes import BusinessType
>>> a = Participant("102100099996", "1000", caps={NodeKind.NPC: 10_000_00})
>>> b = Participant("103290000002", "2900", caps={NodeKind.NPC: 10_000_00})
>>> start = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
>>> system = ClearingSystem([a, b], start=start, books=MemoryBooks())
>>> system.books.fund(a.code, 1_000_000_00)
True
>>> item = Item("C1", BusinessType.ORDINARY_CREDIT, a.code, b.code, 123_45)
>>> system.submit_item(item).status
<Status.NETTED: 'PR03'>
>>> system.close_round().key
(datetime.date(2025, 10, 9), 2)
>>> system.status("C1").status, system.books.reserve_balance(b.code)
(<Status.SETTLED: 'PR04'>, 12345)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time

from zhifu.clearing.agreements import Agreement, AgreementBook
from zhifu.clearing.calendar.days import (
    BusinessCalendar,
    ChineseCalendar,
    beps_date,
    known_working_day,
)
from zhifu.clearing.codes import BUSINESS
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.expiry import ReceiptTimers
from zhifu.clearing.model import (
    Item,
    ItemRecord,
    ItemResult,
    NodeKind,
    Packet,
    PacketRecord,
    Participant,
    Reason,
    Receipt,
    RequestResult,
    Status,
    node_for,
)
from zhifu.clearing.netting import Entry, NettingBook, Outcome
from zhifu.clearing.rounds import (
    RoundKey,
    RoundRecord,
    RoundState,
    close_round,
    schedule_waiting,
    settlement_totals,
)
from zhifu.clearing.rules import (
    IN_POSITION,
    admission_reason,
    receipt_days_of,
    return_item,
    return_reason,
)
from zhifu.clearing.settlement import LedgerBooks, SettlementBooks
from zhifu.clearing.stops import reversal_reason, stop_answer_reason, stop_reason
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError


class ClearingSystem:
    """The engine; see the module docstring. Not thread-safe: one writer per centre."""

    def __init__(
        self,
        participants: Iterable[Participant],
        *,
        start: datetime,
        config: ClearingConfig | None = None,
        calendar: BusinessCalendar | None = None,
        books: SettlementBooks | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise UsageError("the start must be timezone-aware", argument="start")
        self.config = config or ClearingConfig()
        self.calendar = calendar or ChineseCalendar()
        self.schedule = self.config.schedule
        self.participants: dict[str, Participant] = {}
        self.books: SettlementBooks = books if books is not None else LedgerBooks.in_memory()
        self.now = start.astimezone(SHANGHAI)
        self.book = NettingBook({}, self.schedule.round_of(self.now))
        self.records: dict[str, ItemRecord] = {}
        self.packets: dict[str, PacketRecord] = {}
        self.rounds: dict[RoundKey, RoundRecord] = {}
        self.timers = ReceiptTimers()  # items awaiting a receipt, by expiry date
        self.agreements = AgreementBook()  # periodic business: registered agreements (协议)
        self._next_close = self.schedule.close_instant(self.book.current)
        self._next_settlement: datetime | None = None
        self.add_participants(participants)

    # -- participants and caps -------------------------------------------------------------
    def add_participants(self, participants: Iterable[Participant]) -> None:
        """Register participants (direct ones first get their settlement accounts)."""
        added = list(participants)
        for p in added:
            if p.code in self.participants:
                raise UsageError(f"participant {p.code} is registered twice", argument="code")
            self.participants[p.code] = p
        for p in added:
            if not p.direct and not self._is_direct(p.clearing_bank):
                raise UsageError("'via' must name a direct participant", argument="via")
            for kind, cap in p.caps.items():
                self.book.caps[p.code, NodeKind(kind).value] = cap
        self.books.open_participants([p.code for p in added if p.direct])

    def _is_direct(self, code: str) -> bool:
        found = self.participants.get(code)
        return found is not None and found.direct

    def set_cap(
        self, bank: str, kind: NodeKind, amount: int, at: datetime | None = None
    ) -> list[ItemResult]:
        """Change a net debit cap; returns the queued items it released."""
        self.advance_to(at)
        if not self._is_direct(bank):
            raise UsageError("caps belong to direct participants", argument="bank")
        return self._on_released(self.book.set_cap(bank, NodeKind(kind).value, amount))

    def earmark_reason(self, bank: str, kind: NodeKind, delta: int) -> Reason | None:
        """Why earmarking ``delta`` fen (negative: releasing) is refused: only a direct
        participant earmarks (``wrong_bank``), and its cap never goes below 0 (``amount``)."""
        if not self._is_direct(bank):
            return Reason.WRONG_BANK
        if self.book.caps.get((bank, NodeKind(kind).value), 0) + delta < 0:
            return Reason.AMOUNT
        return None

    def earmark(
        self, bank: str, kind: NodeKind, delta: int, at: datetime | None = None
    ) -> RequestResult:
        """Earmarked funds (圈存, nets.376/377): the bank's cap at a node kind moves by
        ``delta``; the queued items it released come back in the result."""
        self.advance_to(at)
        reason = self.earmark_reason(bank, kind, delta)
        if reason is not None:
            return RequestResult(False, reason)
        cap = self.book.caps.get((bank, NodeKind(kind).value), 0) + delta
        return RequestResult(True, None, tuple(self.set_cap(bank, kind, cap)))

    def fund(self, bank: str, amount: int, at: datetime | None = None) -> bool:
        """Pay into a settlement account; retries settlements waiting for funds."""
        self.advance_to(at)
        done = self.books.fund(bank, amount)
        self.settle()
        return done

    # -- the clock ------------------------------------------------------------------------
    def advance_to(self, at: datetime | None) -> None:
        """Move time forward to ``at``, closing rounds, settling and expiring on the way."""
        if at is None:
            return
        if at < self.now:
            raise UsageError("time never goes backwards", argument="at")
        while True:
            due = self._next_close
            if self._next_settlement is not None and self._next_settlement < due:
                due = self._next_settlement
            if due > at:
                break
            self.now = due.astimezone(SHANGHAI)
            if self._next_close <= self.now:
                self._close_round()
            self._settle_due()
            self._expire(beps_date(self.now, self.schedule.cutoff))
        self.now = at.astimezone(SHANGHAI)

    def close_round(self) -> RoundRecord | None:
        """Close the current round now, by moving the clock to its close instant."""
        key = self.book.current
        self.advance_to(self._next_close)
        return self.rounds.get(key)

    def set_settlement_time(self, at_time: time, at: datetime | None = None) -> None:
        """The operator moves the settlement time of rounds that wait for a working day: rounds
        submitted and not yet settled are rescheduled (at once if the new time has passed)."""
        self.advance_to(at)
        self.schedule = dataclasses.replace(self.schedule, settlement_time=at_time)
        for record in self.rounds.values():
            if record.state is RoundState.SUBMITTED and record.settles_at is not None:
                instant = self.schedule.settlement_instant(record.key, self.calendar)
                record.settles_at = max(instant, self.now)
        self._plan_settlement()
        self._settle_due()

    def resolve_gridlock(
        self, node: str | None = None, at: datetime | None = None
    ) -> list[ItemResult]:
        """Net the largest set of queued items that fits together (:mod:`.gridlock`), at one
        node or at all; the items it released, netted in the current round."""
        self.advance_to(at)
        return self._on_released(self.book.resolve_gridlock(node))

    def _close_round(self) -> None:
        if self.config.gridlock_at_close and self.book.queues:
            self._on_released(self.book.resolve_gridlock())
        key = self.book.current
        following = self.schedule.next_round(key)
        nets = self.book.close_round(following)
        self._next_close = self.schedule.close_instant(following)
        record = self.rounds.get(key)
        if record is None and not nets:
            return
        if record is None:
            record = self.rounds[key] = RoundRecord(key)
        close_round(record, self.book.bilateral.get(key, {}), self.schedule, self.calendar)
        assert record.nets == nets
        self._plan_settlement()

    def use_calendar(self, calendar: BusinessCalendar) -> None:
        """Answer from ``calendar`` from now on (e.g. with a year the operator added): rounds
        and receipt deadlines that waited for its data get their dates, settle or expire if due."""
        self.calendar = calendar
        schedule_waiting(self.rounds.values(), self.schedule, calendar)
        for item_id, expiry in self.timers.resolve(calendar).items():
            self.records[item_id].expires_on = expiry
        self._plan_settlement()
        self._settle_due()
        self._expire(beps_date(self.now, self.schedule.cutoff))

    def _plan_settlement(self) -> None:
        times = [r.settles_at for r in self.rounds.values() if r.state is RoundState.SUBMITTED]
        self._next_settlement = min((t for t in times if t is not None), default=None)

    # -- settlement -----------------------------------------------------------------------
    def _settle_due(self) -> None:
        due = [
            r
            for r in self.rounds.values()
            if (r.state is RoundState.SUBMITTED and r.settles_at and r.settles_at <= self.now)
            or r.state is RoundState.SETTLEMENT_QUEUED
        ]
        if not due:
            return
        by_date: dict[date, list[RoundRecord]] = {}
        for record in due:
            assert record.settlement_date is not None
            by_date.setdefault(record.settlement_date, []).append(record)
        for day in sorted(by_date):
            self._settle(day, by_date[day])
        self._plan_settlement()

    def _settle(self, day: date, records: Sequence[RoundRecord]) -> None:
        ok = self.books.post(day, settlement_totals(records))
        status = Status.SETTLED if ok else Status.SETTLEMENT_QUEUED
        for record in records:
            record.state = RoundState.SETTLED if ok else RoundState.SETTLEMENT_QUEUED
            for item_id in record.items:
                self.records[item_id].status = status
        if ok:
            released: list[Entry] = []
            for record in records:
                released += self.book.settle(record.nets)
            self._on_released(released)

    def settle(self, at: datetime | None = None) -> list[RoundRecord]:
        """Settle what is due (and retry rounds waiting for funds); returns the settled rounds."""
        self.advance_to(at)
        before = {k for k, r in self.rounds.items() if r.state is RoundState.SETTLED}
        self._settle_due()
        return [
            r for k, r in self.rounds.items() if r.state is RoundState.SETTLED and k not in before
        ]

    # -- items --------------------------------------------------------------------------------
    def submit_packet(self, packet: Packet, at: datetime | None = None) -> list[ItemResult]:
        """Submit a packet (组包): checked against its header, then item by item."""
        packet.check()
        return [self.submit_item(item, at) for item in packet.items]

    def submit_item(self, item: Item, at: datetime | None = None) -> ItemResult:
        """Admit one instruction: net it, queue it, await its receipt, or reject it."""
        self.advance_to(at)
        if item.item_id in self.records:
            return ItemResult(item.item_id, Status.REJECTED, Reason.DUPLICATE_ID)
        day = beps_date(self.now, self.schedule.cutoff)
        working_day = known_working_day(self.calendar, day)  # None: a year not known yet
        reason = admission_reason(item, self.participants, self.config, working_day)
        payer = self.participants.get(item.payer_bank)
        payee = self.participants.get(item.payee_bank)
        if payer is None or payee is None:
            record = ItemRecord(item, self.now, "", "", "", Status.REJECTED, reason)
            self.records[item.item_id] = record
            return record.result()
        payer_cb, payee_cb = payer.clearing_bank, payee.clearing_bank
        node = node_for(self.participants[payer_cb].city, self.participants[payee_cb].city)
        record = ItemRecord(item, self.now, payer_cb, payee_cb, node, Status.REJECTED, reason)
        self.records[item.item_id] = record
        if reason is None:
            reason = self._packet_reason(item) or self._return_reason(item)
            reason = reason or self.agreements.reason(item, day)
            record.reason = reason
        if reason is None:
            self._admit(record, day)
        return record.result()

    def _admit(self, record: ItemRecord, day: date) -> None:
        item = record.item
        self.packets[item.packet].item_ids.append(item.item_id)
        if item.return_of is not None:
            self.records[item.return_of].returned_by = item.item_id
        self.agreements.use(item, day)
        spec = BUSINESS[item.business_type]
        if not spec.needs_receipt:
            self._net(record)
            return
        days = receipt_days_of(item, self.config) or 0
        record.expires_on = self.timers.start(item.item_id, spec, day, days, self.calendar)
        record.status = Status.AWAITING_RECEIPT

    def _packet_reason(self, item: Item) -> Reason | None:
        found = self.packets.get(item.packet)
        if found is None:
            self.packets[item.packet] = PacketRecord(item.packet, item.sender, item.business_type)
            return None
        if found.sender != item.sender or found.business_type != item.business_type:
            return Reason.PACKET_MISMATCH
        return None

    def _return_reason(self, item: Item) -> Reason | None:
        if item.return_of is None:
            return None
        original = self.records.get(item.return_of)
        today = beps_date(self.now, self.schedule.cutoff)
        return return_reason(item, original, today, self.config, self.calendar)

    def _net(self, record: ItemRecord) -> None:
        item = record.item
        entry = Entry(
            item.item_id,
            record.payer_cb,
            record.payee_cb,
            record.node,
            item.amount,
            BUSINESS[item.business_type].real_time,
        )
        netted = self.book.submit(entry)
        if netted.outcome is Outcome.NETTED:
            self._mark_netted(record)
        elif netted.outcome is Outcome.QUEUED:
            record.status = Status.QUEUED
        else:
            record.status, record.reason = Status.REJECTED, Reason.CAP_EXCEEDED
        self._on_released(netted.released)

    def _mark_netted(self, record: ItemRecord) -> None:
        key = self.book.current
        record.status, record.netted_round = Status.NETTED, key
        round_record = self.rounds.get(key)
        if round_record is None:
            round_record = self.rounds[key] = RoundRecord(key)
        round_record.items.append(record.item.item_id)

    def _on_released(self, entries: Iterable[Entry]) -> list[ItemResult]:
        results = []
        for entry in entries:
            record = self.records[entry.item_id]
            self._mark_netted(record)
            results.append(record.result())
        return results

    # -- receipts, revocations, returns ----------------------------------------------------
    def submit_receipt(self, receipt: Receipt, at: datetime | None = None) -> RequestResult:
        """The receiving bank's answer; a success nets the item (checking the payer's cap)."""
        self.advance_to(at)
        record = self.records.get(receipt.item_id)
        if record is None:
            return RequestResult(False, Reason.UNKNOWN_ITEM)
        if record.status is not Status.AWAITING_RECEIPT:
            late = record.status is Status.EXPIRED
            return RequestResult(False, Reason.RECEIPT_LATE if late else Reason.NOT_AWAITING)
        if receipt.bank != record.item.receiver:
            return RequestResult(False, Reason.WRONG_BANK)
        self.timers.stop(record.item.item_id, record.expires_on)
        record.stop_requested = False  # a receipt answers a pending stop-payment request
        if receipt.success:
            self._net(record)
        else:
            record.status, record.reason = Status.REJECTED, Reason.REFUSED
            self.agreements.release(record.item.item_id)
        return RequestResult(True, None, (record.result(),))

    def revoke_packet(
        self, packet_id: str, bank: str | None = None, at: datetime | None = None
    ) -> RequestResult:
        """Revoke a whole packet (撤销): only by its sender, only if nothing in it is netted."""
        self.advance_to(at)
        packet = self.packets.get(packet_id)
        if packet is None:
            return RequestResult(False, Reason.UNKNOWN_PACKET)
        if bank is not None and bank != packet.sender:
            return RequestResult(False, Reason.WRONG_BANK)
        if not BUSINESS[packet.business_type].revocable:
            return RequestResult(False, Reason.NOT_REVOCABLE)
        records = [self.records[i] for i in packet.item_ids]
        if any(r.status in IN_POSITION for r in records):
            return RequestResult(False, Reason.ALREADY_NETTED)
        queued = set()
        for record in records:
            if record.status is Status.QUEUED:
                queued.add(record.item.item_id)
            elif record.status is Status.AWAITING_RECEIPT:
                self.timers.stop(record.item.item_id, record.expires_on)
            else:
                continue
            record.status = Status.REVOKED
            self.agreements.release(record.item.item_id)
        self._on_released(self.book.remove(queued))
        return RequestResult(True, None, tuple(r.result() for r in records))

    def request_stop(self, item_id: str, bank: str, at: datetime | None = None) -> RequestResult:
        """A stop-payment request (止付, beps.411) from a debit's sender; see :mod:`.stops`."""
        self.advance_to(at)
        record = self.records.get(item_id)
        if record is None:
            return RequestResult(False, Reason.UNKNOWN_ITEM)
        item = record.item
        reason = stop_reason(item.business_type, record.status, bank == item.sender)
        if reason is not None:
            return RequestResult(False, reason)
        record.stop_requested = True
        return RequestResult(True, None, (record.result(),))

    def answer_stop(
        self, item_id: str, bank: str, agree: bool, at: datetime | None = None
    ) -> RequestResult:
        """The payer's bank's answer to a stop-payment request (beps.412): agree stops it."""
        self.advance_to(at)
        record = self.records.get(item_id)
        if record is None:
            return RequestResult(False, Reason.UNKNOWN_ITEM)
        from_receiver = bank == record.item.receiver
        reason = stop_answer_reason(record.status, record.stop_requested, from_receiver)
        if reason is not None:
            return RequestResult(False, reason)
        record.stop_requested = False
        if agree:
            self.timers.stop(item_id, record.expires_on)
            record.status = Status.STOPPED
            self.agreements.release(item_id)
        return RequestResult(True, None, (record.result(),))

    def reverse(self, item_id: str, bank: str, at: datetime | None = None) -> RequestResult:
        """A real-time item reversed by its sender before its receipt (冲正, beps.413)."""
        self.advance_to(at)
        record = self.records.get(item_id)
        if record is None:
            return RequestResult(False, Reason.UNKNOWN_ITEM)
        item = record.item
        reason = reversal_reason(item.business_type, record.status, bank == item.sender)
        if reason is not None:
            return RequestResult(False, reason)
        self.timers.stop(item_id, record.expires_on)
        record.status = Status.REVERSED
        return RequestResult(True, None, (record.result(),))

    def register_agreement(
        self, agreement: Agreement, bank: str, at: datetime | None = None
    ) -> RequestResult:
        """Register a periodic-business agreement (协议), sent by the payer's bank."""
        self.advance_to(at)
        banks = [agreement.payer_bank, *filter(None, [agreement.payee_bank])]
        if any(b not in self.participants for b in banks):
            return RequestResult(False, Reason.UNKNOWN_BANK)
        if bank != agreement.payer_bank:
            return RequestResult(False, Reason.WRONG_BANK)
        reason = self.agreements.register(agreement)
        return RequestResult(reason is None, reason)

    def revoke_agreement(
        self, agreement_id: str, bank: str, at: datetime | None = None
    ) -> RequestResult:
        """End an agreement on today's BEPS date (by the payer's bank that registered it)."""
        self.advance_to(at)
        today = beps_date(self.now, self.schedule.cutoff)
        reason = self.agreements.revoke(agreement_id, bank, today)
        return RequestResult(reason is None, reason)

    def submit_return(
        self, original_id: str, return_id: str, at: datetime | None = None
    ) -> ItemResult:
        """Return a netted item (退回) as a credit return from its payee bank to its payer bank."""
        original = self.records.get(original_id)
        if original is None:
            self.advance_to(at)
            return ItemResult(return_id, Status.REJECTED, Reason.UNKNOWN_ITEM)
        return self.submit_item(return_item(original.item, return_id), at)

    def _expire(self, day: date) -> None:
        for item_id in self.timers.due(day):
            record = self.records[item_id]
            record.status, record.reason = Status.EXPIRED, Reason.NO_RECEIPT
            self.agreements.release(item_id)

    # -- queries ---------------------------------------------------------------------------
    def status(self, item_id: str) -> ItemResult:
        """An item's current status."""
        record = self.records.get(item_id)
        if record is None:
            raise UsageError("no such item", argument="item_id")
        return record.result()

    def check(self) -> None:
        """Assert the netting invariants (positions sum to zero everywhere)."""
        self.book.check()
