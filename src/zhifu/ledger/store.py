"""The part of the stores that both databases share: load a view, run the engine, write.

A group of requests (from the group-commit writer) becomes one database transaction:

1. read the transfers the events name (ids and pending ids), and the pending transfers that
   are due to expire, to know every account the group can touch;
2. lock those accounts, in id order (SQLite: the database write lock; PostgreSQL:
   ``SELECT ... ORDER BY id FOR UPDATE``), then read the states of the pending transfers;
3. take the first timestamp: after the clock, after every timestamp in the database, after
   this process's last one;
4. run :class:`~zhifu.ledger.engine.Batch` (expiry, then each request in order);
5. write the changes (new rows sorted by id, balance updates in account-id order), commit.

The caller is answered only after the commit returned, i.e. after the database synced it.
Ids are stored as 16 big-endian bytes (so byte order is numeric order); ``user_data_64`` as a
signed 64-bit integer (two's complement).

>>> from_id(to_id(2**127 + 5)) == 2**127 + 5
True
>>> from_u64(to_u64(2**64 - 1))
18446744073709551615
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from zhifu.core.clock import Clock
from zhifu.ledger.engine import Batch, Changes, View
from zhifu.ledger.model import Account, PendingState, Transfer, TransferFlags
from zhifu.ledger.state import AccountState, Pending

ATTEMPTS_MAX: Final = 50
DUE_MAX: Final = 8190  # pending transfers expired per transaction at most
_PENDING = int(TransferFlags.PENDING)
_POST_OR_VOID = int(TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_U64_SIGN = 1 << 63
_U64 = 1 << 64

ACCOUNT_COLUMNS: Final = (
    "id, ledger, code, flags, user_data_128, user_data_64, user_data_32,"
    " debits_pending, debits_posted, credits_pending, credits_posted, timestamp"
)
TRANSFER_COLUMNS: Final = (
    "id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id,"
    " timeout, user_data_128, user_data_64, user_data_32, timestamp"
)
PENDING_COLUMNS: Final = "id, expires_at, state, resolved_by, resolved_at"


def clock_ns(clock: Clock) -> int:
    """The clock's time in nanoseconds since the Unix epoch (exact integer arithmetic)."""
    return ((clock.now() - _EPOCH) // _MICROSECOND) * 1000


def to_id(value: int) -> bytes:
    return value.to_bytes(16, "big")


def from_id(value: bytes) -> int:
    return int.from_bytes(value, "big")


def to_u64(value: int) -> int:
    return value - _U64 if value >= _U64_SIGN else value


def from_u64(value: int) -> int:
    return value + _U64 if value < 0 else value


def transfer_row(t: Transfer) -> tuple[Any, ...]:
    return (
        t.id.to_bytes(16, "big"),
        t.debit_account_id.to_bytes(16, "big"),
        t.credit_account_id.to_bytes(16, "big"),
        t.amount,
        t.ledger,
        t.code,
        int(t.flags),
        t.pending_id.to_bytes(16, "big") if t.pending_id else None,
        t.timeout,
        t.user_data_128.to_bytes(16, "big") if t.user_data_128 else None,
        t.user_data_64 - _U64 if t.user_data_64 >= _U64_SIGN else t.user_data_64,
        t.user_data_32,
        t.timestamp,
    )


def transfer_from_row(row: Sequence[Any]) -> Transfer:
    (id_, debit, credit, amount, ledger, code, flags, pending_id) = row[:8]
    (timeout, user_data_128, user_data_64, user_data_32, timestamp) = row[8:]
    return Transfer(
        from_id(id_),
        from_id(debit),
        from_id(credit),
        amount,
        ledger,
        code,
        TransferFlags(flags),
        from_id(pending_id) if pending_id else 0,
        timeout,
        from_id(user_data_128) if user_data_128 else 0,
        from_u64(user_data_64),
        user_data_32,
        timestamp,
    )


def account_row(a: AccountState) -> tuple[Any, ...]:
    return (
        to_id(a.id),
        a.ledger,
        a.code,
        a.flags,
        to_id(a.user_data_128) if a.user_data_128 else None,
        to_u64(a.user_data_64),
        a.user_data_32,
        *a.balances(),
        a.timestamp,
    )


def account_state_from_row(row: Sequence[Any]) -> AccountState:
    return AccountState(
        (
            from_id(row[0]),
            row[1],
            row[2],
            row[3],
            from_id(row[4]) if row[4] else 0,
            from_u64(row[5]),
            *row[6:],
        )
    )


def account_from_row(row: Sequence[Any]) -> Account:
    return account_state_from_row(row).to_account()


@dataclass
class Request:
    """One caller's request: ``kind`` is "accounts" or "transfers"."""

    kind: str
    events: Sequence[Account] | Sequence[Transfer]
    results: list[int] = field(default_factory=list)


class RetryGroup(Exception):  # noqa: N818 - a signal, not an error
    """The group must be re-run from the start (something moved under it)."""


class Store(ABC):
    """A ledger database: the write path for the writer thread, reads for everyone."""

    dialect: str = ""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.timestamp_last = 0
        self.retries = 0

    # -- dialect hooks ------------------------------------------------------------------

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def is_retryable(self, exc: BaseException) -> bool: ...

    @abstractmethod
    def select_ids(self, sql: str, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        """Run ``sql`` (ending in ``WHERE <column>``) for rows whose column is in ``ids``."""

    @abstractmethod
    def lock_accounts(self, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        """Lock and read the accounts (``ids`` sorted ascending)."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement on the write connection (``?`` placeholders)."""

    @abstractmethod
    def write(self, changes: Changes) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- reads (any thread; the read connection) ----------------------------------------

    @abstractmethod
    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def read_ids(self, sql: str, ids: Sequence[bytes]) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """Reads inside the block see one committed state."""

    # -- the write path -----------------------------------------------------------------

    def apply(self, requests: Sequence[Request]) -> None:
        """Apply a group of requests in one transaction; fills each request's results."""
        for attempt in range(ATTEMPTS_MAX):
            try:
                self.begin()
                timestamp_last = self._apply(requests)
                self.commit()
            except BaseException as exc:
                self.rollback()
                if isinstance(exc, RetryGroup) or (
                    self.is_retryable(exc) and attempt < ATTEMPTS_MAX - 1
                ):
                    self.retries += 1
                    time.sleep(random.random() * min(0.05, 0.001 * 2**attempt))  # noqa: S311
                    continue
                raise
            self.timestamp_last = timestamp_last
            return
        raise RuntimeError("ledger: gave up after repeated retries")  # pragma: no cover

    def _apply(self, requests: Sequence[Request]) -> int:
        view = View()
        transfer_ids, pending_ids, account_ids = _collect(requests)
        self._load_transfers(view, transfer_ids | pending_ids)
        due = self._load_due()
        for pending_transfer in self._pending_transfers(view, due):
            account_ids.add(pending_transfer.debit_account_id)
            account_ids.add(pending_transfer.credit_account_id)
        for row in self.lock_accounts([to_id(i) for i in sorted(account_ids)]):
            state = account_state_from_row(row)
            view.accounts[state.id] = state
        missing = [to_id(i) for i in pending_ids if i not in view.transfers]
        if missing and self.select_ids("SELECT id FROM transfers WHERE id", missing):
            raise RetryGroup  # a pending transfer appeared after the first read
        self._load_pending(view, [t.id for t in self._pending_transfers(view, due)])
        self._load_failures(view, transfer_ids)
        batch = Batch(view, self._first_timestamp())
        batch.expire(sorted(due, key=lambda i: (view.pending[i].expires_at, i)))
        for request in requests:
            if request.kind == "accounts":
                request.results = list(batch.create_accounts(request.events))  # type: ignore[arg-type]
            else:
                request.results = list(batch.create_transfers(request.events))  # type: ignore[arg-type]
        changes = batch.finish()
        self.write(changes)
        return changes.timestamp_last

    def _first_timestamp(self) -> int:
        rows = self.query(
            "SELECT (SELECT max(timestamp) FROM transfers), (SELECT max(timestamp) FROM accounts)"
        )
        in_db = max(rows[0][0] or 0, rows[0][1] or 0)
        return max(clock_ns(self.clock), in_db + 1, self.timestamp_last + 1)

    def _load_transfers(self, view: View, ids: Iterable[int]) -> None:
        wanted = [to_id(i) for i in ids]
        if not wanted:
            return
        sql = f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id"  # noqa: S608 - constant SQL, values are bound
        found = [transfer_from_row(r) for r in self.select_ids(sql, wanted)]
        view.transfers.update((t.id, t) for t in found)
        more = {t.pending_id for t in found if t.flags & _POST_OR_VOID} - view.transfers.keys()
        if more:
            rows = self.select_ids(sql, [to_id(i) for i in more])
            view.transfers.update((t.id, t) for t in map(transfer_from_row, rows))

    def _load_due(self) -> dict[int, Transfer]:
        now = clock_ns(self.clock)
        rows = self.query(
            f"SELECT {', '.join('t.' + c.strip() for c in TRANSFER_COLUMNS.split(','))} "  # noqa: S608 - constant SQL, values are bound
            "FROM pending_transfers p JOIN transfers t ON t.id = p.id "
            "WHERE p.state = 1 AND p.expires_at > 0 AND p.expires_at <= ? "
            "ORDER BY p.expires_at, p.id LIMIT ?",
            (max(now, self.timestamp_last + 1), DUE_MAX),
        )
        return {t.id: t for t in map(transfer_from_row, rows)}

    @staticmethod
    def _pending_transfers(view: View, due: dict[int, Transfer]) -> list[Transfer]:
        view.transfers.update(due)
        return [t for t in view.transfers.values() if t.flags & _PENDING]

    def _load_pending(self, view: View, ids: Sequence[int]) -> None:
        if not ids:
            return
        sql = f"SELECT {PENDING_COLUMNS} FROM pending_transfers WHERE id"  # noqa: S608 - constant SQL, values are bound
        for id_, expires_at, state, by, at in self.select_ids(sql, [to_id(i) for i in ids]):
            t = view.transfers[from_id(id_)]
            view.pending[t.id] = Pending(
                t.id,
                t.debit_account_id,
                t.credit_account_id,
                t.amount,
                expires_at,
                PendingState(state),
                from_id(by) if by else 0,
                at,
            )

    def _load_failures(self, view: View, ids: set[int]) -> None:
        if ids:
            sql = "SELECT id, result FROM transfer_failures WHERE id"
            rows = self.select_ids(sql, [to_id(i) for i in ids])
            view.failed.update((from_id(r[0]), r[1]) for r in rows)


def _collect(requests: Sequence[Request]) -> tuple[set[int], set[int], set[int]]:
    transfer_ids: set[int] = set()
    pending_ids: set[int] = set()
    account_ids: set[int] = set()
    for request in requests:
        if request.kind == "accounts":
            account_ids.update(a.id for a in request.events)
            continue
        for t in request.events:
            assert isinstance(t, Transfer)
            transfer_ids.add(t.id)
            account_ids.add(t.debit_account_id)
            account_ids.add(t.credit_account_id)
            if t.pending_id:
                pending_ids.add(t.pending_id)
    for ids in (transfer_ids, pending_ids, account_ids):
        ids.discard(0)
        ids.discard((1 << 128) - 1)
    return transfer_ids, pending_ids, account_ids


def pending_rows(items: Iterable[Pending]) -> list[tuple[Any, ...]]:
    return [
        (
            to_id(p.id),
            p.expires_at,
            int(p.state),
            to_id(p.resolved_by) if p.resolved_by else None,
            p.resolved_at,
        )
        for p in sorted(items, key=lambda p: p.id)
    ]
