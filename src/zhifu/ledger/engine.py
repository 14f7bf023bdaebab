"""The pure core of the ledger: validate a batch against a state view, return results and changes.

A :class:`Batch` is given a :class:`View` (the accounts, transfers, pending states and burnt ids
the batch can touch, as a store loaded them under lock) and the first timestamp it may assign.
It applies requests in order, each event getting the next timestamp, and collects the changes;
the store then writes them in one database transaction. Nothing here does I/O or reads a clock.

Linked chains are applied with an undo log and rolled back as a whole when one event fails.
The invariants (conservation per ledger, no negative balance, flag limits) are asserted on the
touched accounts when the batch is finished.

>>> from zhifu.ledger.model import Account, Transfer
>>> batch = Batch(View(), timestamp=1_000)
>>> [r.name for r in batch.create_accounts([Account(1, 156, 10), Account(2, 156, 20)])]
['OK', 'OK']
>>> [r.name for r in batch.create_transfers([Transfer(9, 1, 2, 500, 156, 1)])]
['OK']
>>> changes = batch.finish()
>>> [(a.id, a.debits_posted, a.credits_posted) for a in changes.accounts_new]
[(1, 500, 0), (2, 0, 500)]
>>> changes.transfers_new[0].timestamp
1002
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from zhifu.ledger import rules
from zhifu.ledger.model import (
    Account,
    AccountFlags,
    PendingState,
    Transfer,
    TransferFlags,
)
from zhifu.ledger.results import CreateAccountResult, CreateTransferResult
from zhifu.ledger.state import AccountState, Pending

_LINKED = int(TransferFlags.LINKED)
_HISTORY = int(AccountFlags.HISTORY)
_R = CreateTransferResult
_A = CreateAccountResult


@dataclass
class View:
    """What a batch may read: loaded by the store, under lock, before the batch runs."""

    accounts: dict[int, AccountState] = field(default_factory=dict)
    transfers: dict[int, Transfer] = field(default_factory=dict)
    pending: dict[int, Pending] = field(default_factory=dict)
    failed: dict[int, int] = field(default_factory=dict)


@dataclass
class Changes:
    """What a finished batch writes, in one database transaction."""

    accounts_new: list[AccountState]
    accounts_changed: list[AccountState]  # existing accounts, sorted by id
    transfers_new: list[Transfer]
    pending_new: list[Pending]
    pending_changed: list[Pending]  # existing pending transfers now resolved, sorted by id
    history: list[tuple[int, int, int, int, int, int]]  # account, timestamp, 4 balances
    failures: list[tuple[int, int, int]]  # transfer id, result, timestamp
    timestamp_last: int  # the last timestamp assigned (or the one before the first)


class _Undo:
    """What a linked chain changed, so that it can be rolled back."""

    __slots__ = ("accounts", "accounts_new", "history", "pending", "pending_new", "transfers")

    def __init__(self, batch: Batch) -> None:
        self.accounts: dict[int, tuple[int, int, int, int, bool]] = {}
        self.pending: dict[int, tuple[int, int, int, bool]] = {}
        self.transfers = len(batch.transfers_new)
        self.accounts_new = len(batch.accounts_new)
        self.pending_new = len(batch.pending_new)
        self.history = len(batch.history)


class Batch:
    """One group of requests applied to a view; see the module docstring."""

    def __init__(self, view: View, timestamp: int) -> None:
        assert timestamp > 0
        self.view = view
        self.timestamp_next = timestamp
        self.accounts_new: list[AccountState] = []
        self.touched: dict[int, AccountState] = {}
        self.transfers_new: list[Transfer] = []
        self.pending_new: list[Pending] = []
        self.pending_touched: dict[int, Pending] = {}
        self.history: list[tuple[int, int, int, int, int, int]] = []
        self.failures: list[tuple[int, int, int]] = []
        self._undo: _Undo | None = None

    # -- expiry --------------------------------------------------------------------------

    def expire(self, pending_ids: Iterable[int]) -> int:
        """Release pending transfers that are due at the next timestamp; returns how many."""
        now = self.timestamp_next
        count = 0
        for pending_id in pending_ids:
            pending = self.view.pending[pending_id]
            if pending.state == PendingState.PENDING and 0 < pending.expires_at <= now:
                self._release(pending, PendingState.EXPIRED, 0, now)
                count += 1
        return count

    # -- accounts ------------------------------------------------------------------------

    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        """Create accounts; one result per account, in order."""
        return self._chained(accounts, self._create_account, _A)  # type: ignore[return-value]

    def _create_account(self, account: Account, timestamp: int) -> int:
        existing = self.view.accounts.get(account.id)
        result = rules.check_account(account, existing)
        if result != _A.OK:
            return result
        state = AccountState.created(account, timestamp)
        self.view.accounts[state.id] = state
        self.accounts_new.append(state)
        return _A.OK

    # -- transfers -----------------------------------------------------------------------

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Create transfers; one result per transfer, in order."""
        return self._chained(transfers, self._create_transfer, _R)  # type: ignore[return-value]

    def _create_transfer(self, t: Transfer, timestamp: int) -> int:
        view = self.view
        flags = int(t.flags)
        result = rules.check_header(t, flags)
        if result:
            return result
        existing = view.transfers.get(t.id)
        if existing is not None:
            pending_transfer = view.transfers.get(existing.pending_id)
            return rules.compare_transfer(t, flags, existing, pending_transfer)
        if t.id in view.failed:
            return _R.ID_ALREADY_FAILED
        if flags & rules.POST_OR_VOID:
            return self._post_or_void(t, flags, timestamp)
        result, debit, credit = rules.check_single(t, flags, view.accounts, timestamp)
        if result:
            return result
        assert debit is not None and credit is not None
        self._touch(debit)
        self._touch(credit)
        amount = t.amount
        if flags & rules.PENDING:
            debit.debits_pending += amount
            credit.credits_pending += amount
            expires_at = timestamp + t.timeout * rules.NS if t.timeout else 0
            pending = Pending(t.id, t.debit_account_id, t.credit_account_id, amount, expires_at)
            pending.is_new = True
            view.pending[t.id] = pending
            self.pending_new.append(pending)
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        stored = Transfer(
            t.id,
            t.debit_account_id,
            t.credit_account_id,
            amount,
            t.ledger,
            t.code,
            t.flags,
            0,
            t.timeout,
            t.user_data_128,
            t.user_data_64,
            t.user_data_32,
            timestamp,
        )
        self._store(stored, debit, credit)
        return _R.OK

    def _post_or_void(self, t: Transfer, flags: int, timestamp: int) -> int:
        view = self.view
        p = view.transfers.get(t.pending_id) if t.pending_id else None
        pending = view.pending.get(t.pending_id) if p is not None else None
        result, amount = rules.check_post_or_void(t, flags, p, pending, timestamp)
        if result == _R.PENDING_TRANSFER_EXPIRED and pending is not None:
            if pending.state == PendingState.PENDING:  # due, not yet swept: expire it now
                self._release(pending, PendingState.EXPIRED, 0, timestamp)
            return result
        if result:
            return result
        assert p is not None and pending is not None
        debit = view.accounts[p.debit_account_id]
        credit = view.accounts[p.credit_account_id]
        post = bool(flags & rules.POST)
        if post:
            if debit.debits_posted + amount > rules.BALANCE_MAX:
                return _R.OVERFLOWS_DEBITS_POSTED
            if credit.credits_posted + amount > rules.BALANCE_MAX:
                return _R.OVERFLOWS_CREDITS_POSTED
        state = PendingState.POSTED if post else PendingState.VOIDED
        self._release(pending, state, t.id, timestamp)
        if post:
            debit.debits_posted += amount
            credit.credits_posted += amount
        stored = rules.resolved(t, p, amount, timestamp)
        self._store(stored, debit, credit)
        return _R.OK

    # -- shared --------------------------------------------------------------------------

    def _store(self, stored: Transfer, debit: AccountState, credit: AccountState) -> None:
        self.view.transfers[stored.id] = stored
        self.transfers_new.append(stored)
        for account in (debit, credit):
            if account.flags & _HISTORY:
                self.history.append(account.balance_row(stored.timestamp))

    def _release(self, pending: Pending, state: int, by: int, timestamp: int) -> None:
        debit = self.view.accounts[pending.debit_account_id]
        credit = self.view.accounts[pending.credit_account_id]
        self._touch(debit)
        self._touch(credit)
        self._touch_pending(pending)
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        assert debit.debits_pending >= 0 and credit.credits_pending >= 0
        pending.state = state
        pending.resolved_by = by
        pending.resolved_at = timestamp

    def _touch(self, account: AccountState) -> None:
        undo = self._undo
        if undo is not None and account.id not in undo.accounts:
            undo.accounts[account.id] = (*account.balances(), account.id in self.touched)
        if not account.is_new:
            self.touched[account.id] = account

    def _touch_pending(self, pending: Pending) -> None:
        undo = self._undo
        if undo is not None and pending.id not in undo.pending:
            touched = pending.id in self.pending_touched
            undo.pending[pending.id] = (
                pending.state,
                pending.resolved_by,
                pending.resolved_at,
                touched,
            )
        if not pending.is_new:
            self.pending_touched[pending.id] = pending

    def _chained(self, events: Sequence[object], create: object, kind: type) -> list[int]:
        """Apply events one by one, linked chains all or nothing (TigerBeetle's semantics)."""
        assert callable(create)
        results: list[int] = []
        chain: int | None = None
        broken = False
        last = len(events) - 1
        ok, failed, chain_open = kind(0), kind(1), kind(2)
        for index, event in enumerate(events):
            timestamp = self._next_timestamp()
            linked = int(event.flags) & _LINKED  # type: ignore[attr-defined]
            if linked and chain is None:
                chain, broken = index, False
                self._undo = _Undo(self)
            if linked and index == last:
                result = chain_open
            elif broken:
                result = failed
            else:
                result = kind(create(event, timestamp))
            if result != ok and chain is not None and not broken:
                broken = True
                self._rollback()
                results[chain:index] = [failed] * (index - chain)
            if result.transient:
                self.view.failed[event.id] = result  # type: ignore[attr-defined]
                self.failures.append((event.id, int(result), timestamp))  # type: ignore[attr-defined]
            results.append(result)
            if chain is not None and (not linked or result == chain_open):
                chain, broken, self._undo = None, False, None
        return results

    def _next_timestamp(self) -> int:
        timestamp = self.timestamp_next
        self.timestamp_next = timestamp + 1
        return timestamp

    def _rollback(self) -> None:
        undo = self._undo
        assert undo is not None
        view = self.view
        for stored in self.transfers_new[undo.transfers :]:
            del view.transfers[stored.id]
        del self.transfers_new[undo.transfers :]
        for created in self.accounts_new[undo.accounts_new :]:
            del view.accounts[created.id]
        del self.accounts_new[undo.accounts_new :]
        for opened in self.pending_new[undo.pending_new :]:
            del view.pending[opened.id]
        del self.pending_new[undo.pending_new :]
        del self.history[undo.history :]
        for account_id, (dp, dpo, cp, cpo, was_touched) in undo.accounts.items():
            account = view.accounts.get(account_id)
            if account is None:
                continue  # created inside the chain: already gone
            account.set_balances(dp, dpo, cp, cpo)
            if not was_touched:
                self.touched.pop(account_id, None)
        for pending_id, (state, by, at, was_touched) in undo.pending.items():
            restored = view.pending.get(pending_id)
            if restored is None:
                continue
            restored.state, restored.resolved_by, restored.resolved_at = state, by, at
            if not was_touched:
                self.pending_touched.pop(pending_id, None)
        self._undo = _Undo(self)

    # -- the end -------------------------------------------------------------------------

    def finish(self) -> Changes:
        """The changes to write, after asserting the invariants on every touched account."""
        assert self._undo is None
        changed = sorted(self.touched.values(), key=lambda a: a.id)
        rules.assert_invariants(self.accounts_new, changed)
        return Changes(
            accounts_new=self.accounts_new,
            accounts_changed=changed,
            transfers_new=self.transfers_new,
            pending_new=self.pending_new,
            pending_changed=sorted(self.pending_touched.values(), key=lambda p: p.id),
            history=self.history,
            failures=self.failures,
            timestamp_last=self.timestamp_next - 1,
        )
