"""Hypothesis state machine: random accounts and transfers against an auditor model.

The auditor is an independent, plain re-statement of the rules (holds, posts, voids, expiries,
linked chains, duplicates, burnt ids, timestamps). Every result of every event and every
balance, timestamp and stored field is compared with the ledger, on SQLite and on PostgreSQL
(docs/standards/security.md R01, R03, R04, R06; docs/standards/style.md §4 "auditor").
"""

from __future__ import annotations

import copy
import itertools
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.ledger import (
    AMOUNT_MAX,
    Account,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    Ledger,
    Transfer,
    TransferFlags,
)

R = CreateTransferResult
F = TransferFlags
NS = 1_000_000_000
DMNEC = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CMNED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
IDS = itertools.count(1_000_000)  # ids are never reused, so one ledger serves every example
_LEDGERS: dict[str, tuple[Ledger, FixedClock]] = {}


@dataclass
class Hold:
    amount: int
    debit: int
    credit: int
    expires_at: int
    state: str = "pending"


@dataclass
class Model:
    """The auditor: what the ledger must hold after every request."""

    accounts: dict[int, dict[str, int]] = field(default_factory=dict)
    transfers: dict[int, Transfer] = field(default_factory=dict)  # stored (resolved) form
    requests: dict[int, Transfer] = field(default_factory=dict)  # as first sent
    holds: dict[int, Hold] = field(default_factory=dict)
    burnt: set[int] = field(default_factory=set)
    last: int = -1

    def release(self, hold: Hold, state: str) -> None:
        self.accounts[hold.debit]["dp"] -= hold.amount
        self.accounts[hold.credit]["cp"] -= hold.amount
        hold.state = state

    def transfer(self, t: Transfer, ts: int) -> R:  # noqa: PLR0911 - one return per result
        if t.id in self.transfers:
            return self.compare(t, self.transfers[t.id])
        if t.id in self.burnt:
            return R.ID_ALREADY_FAILED
        if t.flags & (F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER):
            return self.resolve(t, ts)
        if t.debit_account_id == t.credit_account_id:
            return R.ACCOUNTS_MUST_BE_DIFFERENT
        dr = self.accounts.get(t.debit_account_id)
        cr = self.accounts.get(t.credit_account_id)
        if dr is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        if cr is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND
        if dr["ledger"] != cr["ledger"]:
            return R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER
        if t.ledger != dr["ledger"]:
            return R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS
        if dr["flags"] & DMNEC and dr["dp"] + dr["dpo"] + t.amount > dr["cpo"]:
            return R.EXCEEDS_CREDITS
        if cr["flags"] & CMNED and cr["cp"] + cr["cpo"] + t.amount > cr["dpo"]:
            return R.EXCEEDS_DEBITS
        side = "p" if t.flags & F.PENDING else "po"
        dr["d" + side] += t.amount
        cr["c" + side] += t.amount
        if t.flags & F.PENDING:
            expires = ts + t.timeout * NS if t.timeout else 0
            self.holds[t.id] = Hold(t.amount, t.debit_account_id, t.credit_account_id, expires)
        self.transfers[t.id] = replace(t, timestamp=ts)
        return R.OK

    def resolve(self, t: Transfer, ts: int) -> R:  # noqa: PLR0911 - one return per result
        p = self.transfers.get(t.pending_id)
        if p is None:
            return R.PENDING_TRANSFER_NOT_FOUND
        if not p.flags & F.PENDING:
            return R.PENDING_TRANSFER_NOT_PENDING
        if t.code and t.code != p.code:
            return R.PENDING_TRANSFER_HAS_DIFFERENT_CODE
        post = bool(t.flags & F.POST_PENDING_TRANSFER)
        amount = self.amount_of(t, p)
        if amount > p.amount:
            return R.EXCEEDS_PENDING_TRANSFER_AMOUNT
        if not post and amount != p.amount:
            return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
        hold = self.holds[p.id]
        if hold.state != "pending":
            return {
                "posted": R.PENDING_TRANSFER_ALREADY_POSTED,
                "voided": R.PENDING_TRANSFER_ALREADY_VOIDED,
                "expired": R.PENDING_TRANSFER_EXPIRED,
            }[hold.state]
        if hold.expires_at and hold.expires_at <= ts:
            self.release(hold, "expired")
            return R.PENDING_TRANSFER_EXPIRED
        self.release(hold, "posted" if post else "voided")
        if post:
            self.accounts[p.debit_account_id]["dpo"] += amount
            self.accounts[p.credit_account_id]["cpo"] += amount
        self.transfers[t.id] = self.resolved(t, p, amount, ts)
        return R.OK

    @staticmethod
    def amount_of(t: Transfer, p: Transfer) -> int:
        if t.flags & F.POST_PENDING_TRANSFER:
            return p.amount if t.amount == AMOUNT_MAX else t.amount
        return t.amount or p.amount

    @staticmethod
    def resolved(t: Transfer, p: Transfer, amount: int, ts: int) -> Transfer:
        return Transfer(
            t.id, p.debit_account_id, p.credit_account_id, amount, p.ledger, p.code, t.flags,
            t.pending_id, 0, t.user_data_128 or p.user_data_128, t.user_data_64 or p.user_data_64,
            t.user_data_32 or p.user_data_32, ts,
        )  # fmt: skip

    def compare(self, t: Transfer, e: Transfer) -> R:
        if t.flags != e.flags:
            return R.EXISTS_WITH_DIFFERENT_FLAGS
        if t.flags & (F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER):
            p = self.transfers[e.pending_id]
            t = self.resolved(t, p, self.amount_of(t, p), 0)
        for name, result in (
            ("amount", R.EXISTS_WITH_DIFFERENT_AMOUNT),
            ("user_data_32", R.EXISTS_WITH_DIFFERENT_USER_DATA_32),
            ("code", R.EXISTS_WITH_DIFFERENT_CODE),
        ):
            if getattr(t, name) != getattr(e, name):
                return result
        return R.EXISTS

    def sweep(self, base: int) -> None:
        """Every write first expires the holds that are due (accounts requests too)."""
        for hold in self.holds.values():
            if hold.state == "pending" and 0 < hold.expires_at <= base:
                self.release(hold, "expired")

    def batch(self, events: list[Transfer], now: int) -> list[R]:
        base = max(now, self.last + 1)
        self.last = base + len(events) - 1
        self.sweep(base)
        results: list[R] = []
        saved: Model | None = None
        chain_start = -1
        broken = False
        for i, t in enumerate(events):
            linked = bool(t.flags & F.LINKED)
            if linked and saved is None:
                saved, chain_start, broken = self.snapshot(), i, False
            if linked and i == len(events) - 1:
                result = R.LINKED_EVENT_CHAIN_OPEN
            elif broken:
                result = R.LINKED_EVENT_FAILED
            else:
                result = self.transfer(t, base + i)
            if result != R.OK and saved is not None and not broken:
                broken = True
                self.restore(saved)
                results[chain_start:i] = [R.LINKED_EVENT_FAILED] * (i - chain_start)
            if result.transient:
                self.burnt.add(t.id)
            if result == R.OK and t.id not in self.requests:
                self.requests[t.id] = t
            results.append(result)
            if saved is not None and (not linked or result == R.LINKED_EVENT_CHAIN_OPEN):
                saved, broken = None, False
        return results

    def snapshot(self) -> Model:
        return Model(copy.deepcopy(self.accounts), dict(self.transfers), dict(self.requests),
                     copy.deepcopy(self.holds), set(self.burnt), self.last)  # fmt: skip

    def restore(self, saved: Model) -> None:
        self.accounts, self.transfers = saved.accounts, saved.transfers
        self.requests, self.holds = saved.requests, saved.holds
        self.burnt = saved.burnt | self.burnt


def _ledger_for(url: str) -> tuple[Ledger, FixedClock]:
    if url not in _LEDGERS:
        clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
        _LEDGERS[url] = (Ledger.open(url, clock=clock), clock)
    return _LEDGERS[url]


def _now(clock: FixedClock) -> int:
    return int(clock.now().timestamp()) * NS  # FixedClock moves in whole seconds here


class LedgerMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.ledger, self.clock = _ledger_for(self.url)
        self.clock.advance(seconds=1)
        self.model = Model()
        self.steps = 0

    @rule(data=st.data(), count=st.integers(1, 3))
    def create_accounts(self, data: st.DataObject, count: int) -> None:
        events = []
        for _ in range(count):
            if self.model.accounts and data.draw(st.booleans()):
                old = data.draw(st.sampled_from(sorted(self.model.accounts)))
                known = self.model.accounts[old]
                events.append(Account(old, known["ledger"], 7, AccountFlags(known["flags"])))
                continue
            flags = data.draw(
                st.sampled_from([AccountFlags.NONE, DMNEC, CMNED, AccountFlags.HISTORY])
            )
            ledger = data.draw(st.sampled_from([156, 156, 156, 840]))
            events.append(Account(next(IDS), ledger, 7, flags))
        expected = []
        base = max(_now(self.clock), self.model.last + 1)
        self.model.sweep(base)
        for i, a in enumerate(events):
            if a.id in self.model.accounts:
                expected.append(CreateAccountResult.EXISTS)
                continue
            fields = {"dp": 0, "dpo": 0, "cp": 0, "cpo": 0, "ts": base + i}
            self.model.accounts[a.id] = {"ledger": a.ledger, "flags": int(a.flags), **fields}
            expected.append(CreateAccountResult.OK)
        self.model.last = base + len(events) - 1
        assert self.ledger.create_accounts(events) == expected

    def _draw_transfer(self, data: st.DataObject) -> Transfer:
        m = self.model
        accounts = [*sorted(m.accounts), next(IDS)]  # sometimes an account that does not exist
        kind = data.draw(st.sampled_from(["single", "pending", "post", "void", "again", "burnt"]))
        holds = sorted(m.holds) or [next(IDS)]
        if kind in ("post", "void"):
            flags = F.POST_PENDING_TRANSFER if kind == "post" else F.VOID_PENDING_TRANSFER
            pending_id = data.draw(st.sampled_from([*holds, *holds, *sorted(m.transfers)[:3]]))
            amount = data.draw(st.sampled_from([0, AMOUNT_MAX, 1, 40, 100, 250]))
            code = data.draw(st.sampled_from([0, 0, 0, 9]))
            return Transfer(next(IDS), 0, 0, amount, 0, code, flags, pending_id=pending_id,
                            user_data_32=data.draw(st.integers(0, 2)))  # fmt: skip
        if kind == "again" and m.requests:
            old = m.requests[data.draw(st.sampled_from(sorted(m.requests)))]
            change = data.draw(st.sampled_from(["none", "none", "amount", "user_data_32", "code"]))
            if change == "none":
                return replace(old)
            value = getattr(old, change) + 1
            if change == "amount" and value > AMOUNT_MAX:  # a post of "the whole amount"
                value = 1
            return replace(old, **{change: value})
        if kind == "burnt" and m.burnt:
            return replace(Transfer(data.draw(st.sampled_from(sorted(m.burnt))), 1, 2, 1, 156, 1))
        debit = data.draw(st.sampled_from(accounts))
        credit = data.draw(st.sampled_from(accounts))
        ledger = m.accounts[debit]["ledger"] if debit in m.accounts else 156
        pending = kind == "pending"
        return Transfer(
            next(IDS), debit, credit, data.draw(st.integers(0, 300)),
            data.draw(st.sampled_from([ledger, ledger, ledger, 840])), 1,
            F.PENDING if pending else F.NONE,
            timeout=data.draw(st.integers(0, 3)) if pending else 0,
            user_data_32=data.draw(st.integers(0, 2)),
        )  # fmt: skip

    @rule(data=st.data(), count=st.integers(1, 5))
    def create_transfers(self, data: st.DataObject, count: int) -> None:
        events = []
        for _ in range(count):
            t = self._draw_transfer(data)
            if data.draw(st.integers(0, 4)) == 0:
                t.flags = F(int(t.flags) | F.LINKED)
            events.append(t)
        expected = self.model.batch([replace(t) for t in events], _now(self.clock))
        assert self.ledger.create_transfers(events) == expected

    @rule(seconds=st.integers(0, 4))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @invariant()
    def balances_and_transfers_match(self) -> None:
        m = self.model
        found = {a.id: a for a in self.ledger.lookup_accounts(sorted(m.accounts))}
        for account_id, want in m.accounts.items():
            got = found[account_id]
            assert (got.debits_pending, got.debits_posted, got.credits_pending,
                    got.credits_posted, got.timestamp) == (want["dp"], want["dpo"], want["cp"],
                                                           want["cpo"], want["ts"])  # fmt: skip
        stored = self.ledger.lookup_transfers(sorted(m.transfers))
        assert {t.id: t for t in stored} == m.transfers

    def teardown(self) -> None:
        report = self.ledger.check()
        assert report.balanced, report.problems


def _run(url: str, examples: int) -> None:
    machine: Any = type("Machine", (LedgerMachine,), {"url": url})
    machine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        # In CI a failure is reported as found: shrinking a stateful run can take minutes.
        phases=[p for p in Phase if p != Phase.shrink or os.environ.get("CI") != "true"],
    )
    machine.TestCase().runTest()


def test_ledger_machine_sqlite(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("machine")
    _run(
        f"sqlite:///{folder / 'ledger.db'}",
        examples=int(os.environ.get("LEDGER_MACHINE_EXAMPLES", "60")),
    )


def test_ledger_machine_postgresql(pg_url: str) -> None:
    _run(pg_url, examples=int(os.environ.get("LEDGER_MACHINE_EXAMPLES", "30")))
