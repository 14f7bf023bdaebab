"""The ``Ledger`` façade: TigerBeetle's client contract over SQLite or PostgreSQL.

``Ledger.open(url)`` opens (and on first use creates) a ledger database:

- ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or a plain path: a SQLite file in WAL
  mode, synced at every commit; ``sqlite://`` alone: in memory (tests and examples);
- ``postgresql+psycopg://user:password@host:port/dbname`` (or ``postgresql://``): PostgreSQL,
  where several processes may write at once.

``create_accounts`` and ``create_transfers`` return one result per event, in order; they return
after the database committed (and synced) the request. Concurrent callers share transactions
(group commit) but each gets its own results.

>>> from zhifu.ledger import Account, AccountFlags, Ledger, Transfer, TransferFlags
>>> ledger = Ledger.open("sqlite://")
>>> ledger.create_accounts([
...     Account(1, 156, 20111, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
...     Account(2, 156, 10031),
... ])
[<CreateAccountResult.OK: 0>, <CreateAccountResult.OK: 0>]
>>> results = ledger.create_transfers([
...     Transfer(100, 2, 1, 10_000, 156, 1),                                   # deposit
...     Transfer(101, 1, 2, 2_500, 156, 2, TransferFlags.PENDING, timeout=60),  # a hold
...     Transfer(102, 1, 2, 9_000, 156, 2),                                     # too much
... ])
>>> [r.name for r in results]
['OK', 'OK', 'EXCEEDS_CREDITS']
>>> ledger.create_transfers([Transfer(103, 0, 0, 2_000, 0, 0,
...     TransferFlags.POST_PENDING_TRANSFER, pending_id=101)])
[<CreateTransferResult.OK: 0>]
>>> ledger.create_transfers([Transfer(100, 2, 1, 10_000, 156, 1)])
[<CreateTransferResult.EXISTS: 18>]
>>> account = ledger.lookup_accounts([1])[0]
>>> account.credits_posted - account.debits_posted - account.debits_pending
8000
>>> ledger.check().balanced
True
>>> ledger.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import cast
from urllib.parse import unquote, urlsplit

from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError
from zhifu.ledger import queries
from zhifu.ledger.audit import CheckReport, check
from zhifu.ledger.model import (
    BATCH_EVENTS_MAX,
    Account,
    AccountBalance,
    AccountFilter,
    AccountFilterFlags,
    Transfer,
    check_accounts,
    check_transfers,
)
from zhifu.ledger.results import CreateAccountResult, CreateTransferResult
from zhifu.ledger.store import Store
from zhifu.ledger.writer import GroupCommitWriter


def open_store(url: str, clock: Clock, *, create: bool) -> Store:
    """The store a URL names (see the module docstring)."""
    if not isinstance(url, str) or not url:
        raise UsageError("give a database URL", argument="url")
    if "://" not in url:
        scheme, path = "sqlite", url
    else:
        scheme, path = url.split("://", 1)
        scheme = scheme.lower()
        path = path[1:] if path.startswith("/") else path  # SQLAlchemy's sqlite:///relative
    if scheme == "sqlite":
        from zhifu.ledger.store_sqlite import SqliteStore  # noqa: PLC0415 - late import: optional dependency

        return SqliteStore(unquote(path), clock, create=create)
    if scheme in ("postgresql", "postgresql+psycopg", "postgres"):
        from zhifu.ledger.store_pg import PgStore  # noqa: PLC0415 - late import: optional dependency

        parts = urlsplit(url)
        return PgStore(parts._replace(scheme="postgresql").geturl(), clock, create=create)
    raise UsageError(
        f"unsupported database {scheme!r}: use sqlite:// or postgresql://", argument="url"
    )


def _filter(
    account: int | AccountFilter,
    timestamp_min: int,
    timestamp_max: int,
    limit: int,
    reversed_: bool,
) -> AccountFilter:
    if isinstance(account, AccountFilter):
        return account
    flags = AccountFilterFlags.DEBITS | AccountFilterFlags.CREDITS
    if reversed_:
        flags |= AccountFilterFlags.REVERSED
    return AccountFilter(account, timestamp_min, timestamp_max, limit, flags)


class Ledger:
    """A ledger on one database; see the module docstring. Thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writer = GroupCommitWriter(store)

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None, create: bool = True) -> Ledger:
        """Open the ledger at ``url``; ``create=False`` refuses a database without one."""
        return cls(open_store(url, clock or SystemClock(), create=create))

    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        """Create accounts: one result per account, in order (``OK`` where created)."""
        check_accounts(accounts)
        if not accounts:
            return []
        return cast(list[CreateAccountResult], self.writer.submit("accounts", accounts))

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Create transfers: one result per transfer, in order (``OK`` where created)."""
        check_transfers(transfers)
        if not transfers:
            return []
        return cast(list[CreateTransferResult], self.writer.submit("transfers", transfers))

    async def create_transfers_async(
        self, transfers: Sequence[Transfer]
    ) -> list[CreateTransferResult]:
        """:meth:`create_transfers` for a coroutine: it waits on its event loop, no thread
        does, and the group commit wakes the loop once for all of its requests."""
        check_transfers(transfers)
        if not transfers:
            return []
        results = await self.writer.submit_async("transfers", transfers)
        return cast(list[CreateTransferResult], results)

    def expire_pending(self) -> None:
        """Release the pending transfers whose timeout has passed (each write does it too)."""
        self.writer.submit("transfers", [])

    def lookup_accounts(self, ids: Sequence[int]) -> list[Account]:
        """The accounts found, in the order asked."""
        return queries.lookup_accounts(self.store, ids)

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        """The transfers found, in the order asked."""
        return queries.lookup_transfers(self.store, ids)

    def get_account_transfers(
        self,
        account: int | AccountFilter,
        *,
        timestamp_min: int = 0,
        timestamp_max: int = 0,
        limit: int = BATCH_EVENTS_MAX,
        reversed: bool = False,
    ) -> list[Transfer]:
        """An account's transfers by timestamp (an id with options, or an AccountFilter)."""
        f = _filter(account, timestamp_min, timestamp_max, limit, reversed)
        return queries.get_account_transfers(self.store, f)

    def get_account_balances(
        self,
        account: int | AccountFilter,
        *,
        timestamp_min: int = 0,
        timestamp_max: int = 0,
        limit: int = BATCH_EVENTS_MAX,
        reversed: bool = False,
    ) -> list[AccountBalance]:
        """The balances after each transfer of an account flagged ``HISTORY``."""
        f = _filter(account, timestamp_min, timestamp_max, limit, reversed)
        return queries.get_account_balances(self.store, f)

    def check(self) -> CheckReport:
        """Verify every invariant (conservation, balances, limits, pending consistency)."""
        return check(self.store)

    def close(self) -> None:
        """Finish queued requests, stop the writer, close the database."""
        self.writer.close()
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
