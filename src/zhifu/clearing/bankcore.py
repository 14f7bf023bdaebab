"""The banks' side: each participant's core ledger posts its customers' BEPS business.

The centre nets banks; a bank's core system (核心账务) moves its customers' money. Each
participant gets a core ledger (:class:`zhifu.ledger.Ledger`) with these accounts (chart codes
of ``zhifu.ledger.chart``):

========================  =================================================================
customers (20111)         the bank's customers' deposits (one pool per bank: BEPS items
                          carry no account the engine keeps)
BEPS clearing (30013)     money between a customer posting and the settlement of its round
reserve (10031)           a direct participant's view of its settlement account at the PBOC
at clearing bank (10112)  an indirect participant's account at its clearing bank
agency (20112, per bank)  at a direct participant, each of its indirect participants' account
========================  =================================================================

:meth:`BankCores.sync` follows the engine's items (``docs/clearing.md`` §17):

* the payer's customer is debited when the bank commits the money — a credit when it is sent,
  a debit when the payer's bank's successful receipt is taken — as a **hold** (a pending
  transfer to BEPS clearing); the hold is **posted** when the item nets and **voided** when it
  ends without moving money (refused, revoked, expired, stopped, reversed);
* the payee's customer is credited from BEPS clearing when the item nets;
* an indirect participant's netted items also move its account at its clearing bank, in both
  cores (the agency account at the direct participant, 10112 at the indirect one);
* when a round settles, each direct participant's BEPS clearing moves to its reserve by its net.

A return is a credit the other way and undoes the original through the same rules.
:meth:`BankCores.check` is the day-end reconciliation of one BEPS date: per bank, the net of its
customer postings against the centre's summary (``reports.reconcile``), and per direct
participant, the reserve movement its core posted against what the PBOC ledger settled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from zhifu.clearing.codes import Direction, Status
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.model import ItemRecord
from zhifu.clearing.reports import reconcile, settlement_totals
from zhifu.clearing.rounds import RoundState
from zhifu.ledger import Account, Ledger, Transfer, TransferFlags
from zhifu.ledger.chart import BY_KEY, LEDGER_CNY
from zhifu.ledger.ids import derive_id
from zhifu.ledger.model import AMOUNT_MAX
from zhifu.ledger.results import CreateTransferResult

__all__ = ["BankCores", "CoreCheck"]

IN_POSITION: Final = frozenset({Status.NETTED, Status.SETTLED, Status.SETTLEMENT_QUEUED})
ENDED: Final = frozenset(
    {Status.REJECTED, Status.REVOKED, Status.EXPIRED, Status.STOPPED, Status.REVERSED}
)
CODE_OPENING, CODE_OUTGOING, CODE_INCOMING, CODE_SETTLEMENT, CODE_AGENCY = 1, 2, 3, 4, 5
_PURPOSES: Final = {
    "customers": "customer_deposits",
    "clearing": "interbank_settlement",
    "reserve": "pboc_reserve",
    "at_clearing_bank": "due_from_banks",
}


def _account(bank: str, purpose: str, key: str = "") -> int:
    return derive_id("bankcore", bank, purpose, key)


def _id(bank: str, step: str, key: str) -> int:
    return derive_id("bankcore", bank, step, key)


@dataclass(slots=True)
class _Seen:
    held: bool = False
    posted: bool = False
    voided: bool = False


@dataclass(frozen=True, slots=True)
class CoreCheck:
    """One bank's day-end check: its customer postings, the centre's summary, its reserve."""

    bank: str
    customer_net: int  # fen: credited to its customers minus debited, for items of the day
    centre_net: int  # the centre's summary: received minus paid
    reserve_core: int | None = None  # direct participants: reserve movement in its core
    reserve_pboc: int | None = None  # ... and what the PBOC ledger settled

    @property
    def matches(self) -> bool:
        return self.customer_net == self.centre_net and self.reserve_core == self.reserve_pboc


@dataclass
class BankCores:
    """One core ledger per participant of ``system``, following its items."""

    system: ClearingSystem
    opening: int = 10**14  # fen in each bank's customer pool at the start
    ledgers: dict[str, Ledger] = field(default_factory=dict)
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _settled: set[tuple[date, int]] = field(default_factory=set)
    _net_by_day: dict[tuple[str, date], int] = field(default_factory=lambda: defaultdict(int))

    def __post_init__(self) -> None:
        for code in self.system.participants:
            self._open(code)

    def _open(self, bank: str) -> None:
        ledger = self.ledgers[bank] = Ledger.open("sqlite://")
        accounts = [
            Account(_account(bank, p), LEDGER_CNY, BY_KEY[k].code) for p, k in _PURPOSES.items()
        ]
        for code, p in self.system.participants.items():
            if not p.direct and p.via == bank:
                agency = BY_KEY["corporate_deposits"].code
                accounts.append(Account(_account(bank, "agency", code), LEDGER_CNY, agency))
        ledger.create_accounts(accounts)
        opening = Transfer(
            _id(bank, "opening", ""), _account(bank, "reserve"), _account(bank, "customers"),
            self.opening, LEDGER_CNY, CODE_OPENING,
        )  # fmt: skip
        self._post(bank, opening)

    def close(self) -> None:
        """Close every core ledger."""
        for ledger in self.ledgers.values():
            ledger.close()

    def _post(self, bank: str, transfer: Transfer) -> None:
        result = self.ledgers[bank].create_transfers([transfer])[0]
        if result not in (CreateTransferResult.OK, CreateTransferResult.EXISTS):
            raise RuntimeError(f"{bank}'s core refused a transfer: {result.name}")

    def _move(self, bank: str, step: str, key: str, route: tuple[int, int], amount: int) -> None:
        debit, credit = route
        code = (
            CODE_INCOMING
            if step == "in"
            else CODE_AGENCY
            if step.startswith("agency")
            else CODE_SETTLEMENT
        )
        self._post(bank, Transfer(_id(bank, step, key), debit, credit, amount, LEDGER_CNY, code))

    # -- following the engine -----------------------------------------------------------------
    def sync(self) -> None:
        """Post what changed since the last call: holds, nettings, endings, settlements."""
        for record in self.system.records.values():
            self._item(record)
        for key, found in self.system.rounds.items():
            if found.state is RoundState.SETTLED and key not in self._settled:
                self._settled.add(key)
                for (bank, node), net in sorted(found.nets.items()):
                    self._settle(bank, f"{key[0]}:{key[1]}:{node}", net)

    def _item(self, record: ItemRecord) -> None:
        item, status = record.item, record.status
        seen = self._seen.setdefault(item.item_id, _Seen())
        if item.payer_bank not in self.ledgers or seen.posted or seen.voided:
            return
        if item.spec.direction is Direction.CREDIT:  # the payer's bank sent it: committed
            committed = status not in ENDED
        else:  # a debit: committed by the payer's bank's successful receipt
            committed = status in IN_POSITION or status is Status.QUEUED
        if committed and not seen.held:
            self._hold(item.payer_bank, item.item_id, item.amount)
            seen.held = True
        if status in IN_POSITION and seen.held:
            self._netted(record)
            seen.posted = True
        elif status in ENDED and seen.held:
            self._release(item.payer_bank, item.item_id, post=False)
            seen.voided = True
        elif status in ENDED:
            seen.voided = True

    def _hold(self, bank: str, item_id: str, amount: int) -> None:
        route = (_account(bank, "customers"), _account(bank, "clearing"))
        self._post(bank, Transfer(
            _id(bank, "hold", item_id), *route, amount, LEDGER_CNY, CODE_OUTGOING,
            TransferFlags.PENDING,
        ))  # fmt: skip

    def _release(self, bank: str, item_id: str, *, post: bool) -> None:
        flag = TransferFlags.POST_PENDING_TRANSFER if post else TransferFlags.VOID_PENDING_TRANSFER
        step = "post" if post else "void"
        self._post(bank, Transfer(
            _id(bank, step, item_id), 0, 0, AMOUNT_MAX if post else 0, LEDGER_CNY,
            CODE_OUTGOING, flag, pending_id=_id(bank, "hold", item_id),
        ))  # fmt: skip

    def _netted(self, record: ItemRecord) -> None:
        item = record.item
        payer, payee, amount = item.payer_bank, item.payee_bank, item.amount
        self._release(payer, item.item_id, post=True)
        incoming = (_account(payee, "clearing"), _account(payee, "customers"))
        self._move(payee, "in", item.item_id, incoming, amount)
        day = record.netted_round[0] if record.netted_round else self.system.now.date()
        self._net_by_day[payer, day] -= amount
        self._net_by_day[payee, day] += amount
        self._agency(payer, item.item_id, -amount)
        self._agency(payee, item.item_id, amount)

    def _agency(self, bank: str, item_id: str, signed: int) -> None:
        """An indirect participant's netted item moves its account at its clearing bank."""
        found = self.system.participants[bank]
        if found.direct or found.via is None:
            return
        agent, amount = found.via, abs(signed)
        agency = _account(agent, "agency", bank)
        at_agent, clearing = _account(bank, "at_clearing_bank"), _account(bank, "clearing")
        agent_clearing = _account(agent, "clearing")
        if signed < 0:  # the indirect bank paid: its account at the agent goes down
            step, at_the_agent, at_the_bank = (
                "agency-out",
                (agency, agent_clearing),
                (clearing, at_agent),
            )
        else:
            step, at_the_agent, at_the_bank = (
                "agency-in",
                (agent_clearing, agency),
                (at_agent, clearing),
            )
        self._move(agent, step, f"{item_id}:{bank}", at_the_agent, amount)
        self._move(bank, step, item_id, at_the_bank, amount)

    def _settle(self, bank: str, key: str, net: int) -> None:
        if net == 0:
            return
        reserve, clearing = _account(bank, "reserve"), _account(bank, "clearing")
        route = (reserve, clearing) if net > 0 else (clearing, reserve)
        self._move(bank, "settle", key, route, abs(net))

    # -- the day-end check --------------------------------------------------------------------
    def account(self, bank: str, purpose: str, key: str = "") -> Account:
        """A core account (``customers``, ``clearing``, ``reserve``, ``at_clearing_bank``, or
        ``agency`` with the indirect participant's code as ``key``)."""
        return self.ledgers[bank].lookup_accounts([_account(bank, purpose, key)])[0]

    def balance(self, bank: str, purpose: str, key: str = "") -> int:
        """Posted balance of a core account (debits minus credits)."""
        found = self.account(bank, purpose, key)
        return found.debits_posted - found.credits_posted

    def check(self, day: date) -> list[CoreCheck]:
        """Every bank's customer postings of BEPS date ``day`` against the centre's summary,
        and every direct participant's reserve movement against the PBOC ledger's."""
        self.sync()
        summary = {b.bank: b.received_fen - b.paid_fen for b in reconcile(self.system, day).banks}
        settled: dict[str, int] = defaultdict(int)
        for (_, bank), (_, done) in settlement_totals(self.system).items():
            settled[bank] += done
        out = []
        for code, participant in sorted(self.system.participants.items()):
            customer = self._net_by_day.get((code, day), 0)
            if participant.direct:
                core = self.balance(code, "reserve") - self.opening
                out.append(CoreCheck(code, customer, summary.get(code, 0), core, settled[code]))
            else:
                out.append(CoreCheck(code, customer, summary.get(code, 0)))
        return out
