"""The SQLite store: a file in WAL mode with ``synchronous=FULL``, through the raw ``sqlite3``.

Every write transaction starts with ``BEGIN IMMEDIATE``, which takes the database's write lock:
writers (threads or processes) are serialised by SQLite, readers keep reading the last committed
state (WAL). ``synchronous=FULL`` makes SQLite sync the WAL at each commit, so a transaction
whose commit returned survives a crash or a power loss. Statements are prepared once and run
with ``executemany`` (measured 2-6x faster than the same statements through SQLAlchemy Core).

>>> from zhifu.core.clock import SystemClock
>>> store = SqliteStore(":memory:", SystemClock(), create=True)
>>> store.read("SELECT version_num FROM alembic_version")
[('0001',)]
>>> store.close()
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from zhifu.core.clock import Clock
from zhifu.core.errors import UsageError
from zhifu.core.files import private_file, private_sqlite
from zhifu.ledger import schema
from zhifu.ledger.engine import Changes
from zhifu.ledger.store import (
    ACCOUNT_COLUMNS,
    TRANSFER_COLUMNS,
    Store,
    account_row,
    pending_rows,
    to_id,
    transfer_row,
)

CHUNK: Final = 500  # ids per "IN (...)" (SQLite allows 32766 variables; small keeps plans fast)
BUSY_TIMEOUT_MS: Final = 30_000
_PRAGMAS: Final = (
    "PRAGMA synchronous = FULL",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA cache_size = -65536",
    "PRAGMA temp_store = MEMORY",
)
_INSERT_ACCOUNT = f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ({', '.join('?' * 12)})"  # noqa: S608 - constant SQL, values are bound
_INSERT_TRANSFER = f"INSERT INTO transfers ({TRANSFER_COLUMNS}) VALUES ({', '.join('?' * 13)})"  # noqa: S608 - constant SQL, values are bound
_UPDATE_BALANCES = (
    "UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?,"
    " credits_posted = ? WHERE id = ?"
)
_INSERT_PENDING = "INSERT INTO pending_transfers VALUES (?, ?, ?, ?, ?)"
_UPDATE_PENDING = (
    "UPDATE pending_transfers SET state = ?, resolved_by = ?, resolved_at = ? WHERE id = ?"
)
_INSERT_HISTORY = "INSERT INTO account_balances VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_FAILURE = "INSERT INTO transfer_failures VALUES (?, ?, ?)"


def _connect(target: str, uri: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        target, isolation_level=None, check_same_thread=False, timeout=30, uri=uri
    )
    if not uri:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        assert str(mode).lower() == "wal", "the ledger needs SQLite's WAL mode"
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    return conn


class SqliteStore(Store):
    """A ledger in one SQLite file (or ``:memory:``, shared by this store's connections)."""

    dialect = "sqlite"

    def __init__(self, path: str, clock: Clock, *, create: bool) -> None:
        super().__init__(clock)
        memory = path in ("", ":memory:")
        target = (
            f"file:zhifu-ledger-{uuid.uuid4().hex}?mode=memory&cache=shared" if memory else path
        )
        if create and not memory:
            private_file(path)  # 0600 before SQLite writes a byte: the books name accounts
        self._w = _connect(target, memory)
        # In memory there is one connection, so reads and writes take turns.
        self._r = self._w if memory else _connect(target, False)
        if not memory:
            private_sqlite(path)
        self._read_lock = threading.RLock()
        self.write_lock = self._read_lock if memory else threading.RLock()
        self._writing = False
        self._bootstrap(create)

    def _bootstrap(self, create: bool) -> None:
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            names = {r[0] for r in w.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "alembic_version" in names:
                version = w.execute("SELECT version_num FROM alembic_version").fetchone()
                if version is None or version[0] != schema.SCHEMA_REVISION:
                    raise UsageError(
                        f"ledger schema {version and version[0]!r}, this zhifu needs "
                        f"{schema.SCHEMA_REVISION!r}: run the Alembic migrations",
                        argument="url",
                    )
            elif names:
                raise UsageError("the database holds other tables, not a ledger", argument="url")
            elif not create:
                raise UsageError("no ledger in this database", argument="url")
            else:
                for statement in schema.bootstrap_statements("sqlite"):
                    w.execute(statement)
            w.execute("COMMIT")
        except BaseException:
            w.execute("ROLLBACK")
            raise

    # -- write hooks --------------------------------------------------------------------

    def begin(self) -> None:
        self.write_lock.acquire()
        self._writing = True
        self._w.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._w.execute("COMMIT")
        self._writing = False
        self.write_lock.release()

    def rollback(self) -> None:
        if self._w.in_transaction:
            self._w.execute("ROLLBACK")
        if self._writing:
            self._writing = False
            self.write_lock.release()

    def is_retryable(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    def select_ids(self, sql: str, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        return _select_ids(self._w, sql, ids)

    def lock_accounts(self, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        # BEGIN IMMEDIATE already holds the write lock: nobody else changes an account.
        return _select_ids(self._w, f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id", ids)  # noqa: S608 - constant SQL, values are bound

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._w.execute(sql, params).fetchall()

    def write(self, changes: Changes) -> None:
        w = self._w
        if changes.accounts_new:
            w.executemany(_INSERT_ACCOUNT, [account_row(a) for a in changes.accounts_new])
        if changes.transfers_new:
            w.executemany(_INSERT_TRANSFER, map(transfer_row, changes.transfers_new))
        if changes.accounts_changed:
            w.executemany(
                _UPDATE_BALANCES,
                [(*a.balances(), to_id(a.id)) for a in changes.accounts_changed],
            )
        if changes.pending_new:
            w.executemany(_INSERT_PENDING, pending_rows(changes.pending_new))
        if changes.pending_changed:
            rows = pending_rows(changes.pending_changed)
            w.executemany(_UPDATE_PENDING, [(*r[2:], r[0]) for r in rows])
        if changes.history:
            w.executemany(_INSERT_HISTORY, [(to_id(h[0]), *h[1:]) for h in changes.history])
        if changes.failures:
            w.executemany(_INSERT_FAILURE, [(to_id(f[0]), *f[1:]) for f in changes.failures])

    # -- reads --------------------------------------------------------------------------

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return self._r.execute(sql, params).fetchall()

    def read_ids(self, sql: str, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return _select_ids(self._r, sql, ids)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state."""
        with self._read_lock:
            nested = self._r.in_transaction
            if not nested:
                self._r.execute("BEGIN")
            try:
                yield
            finally:
                if not nested:
                    self._r.execute("COMMIT")

    def close(self) -> None:
        with self._read_lock:
            if self._r is not self._w:
                self._r.close()
            self._w.close()


_MARKS: dict[int, str] = {}


def _select_ids(conn: sqlite3.Connection, sql: str, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = _MARKS.get(len(chunk))
        if marks is None:
            marks = _MARKS[len(chunk)] = ", ".join("?" * len(chunk))
        rows += conn.execute(f"{sql} IN ({marks})", chunk).fetchall()
    return rows
