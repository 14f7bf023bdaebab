"""The barcode platform's own database: one SQLite file (stdlib ``sqlite3``) in WAL mode.

It keeps what the flows need besides money: merchants and their keys, wallet accounts and
devices, collection codes, orders, payments, refunds, obligations, daily limit totals,
idempotency keys, nonces, spent payment codes and the notification outbox. Money itself is in
each institution's ledger (:mod:`zhifu.ledger`), which is the book of record.

One writer thread owns the connection and applies *units* (functions of a cursor) for every
other thread, as the ledger's group commit does: it takes every unit already waiting, runs each
in its own SAVEPOINT inside one ``BEGIN IMMEDIATE`` transaction (a unit that raises is rolled
back alone and its caller gets the exception), commits, and only then answers the callers.
Nobody else touches the connection, so no thread ever waits on a lock held by a thread that is
itself waiting for the interpreter (the convoy that made a locked shared connection slow
under load; docs/barcode.md, "Performance"). ``synchronous`` is ``NORMAL`` by default: a commit
survives a crash of the process, and a power loss may lose the last few commits of this
database, never of the ledgers (they sync at every commit); because ledger transfer ids derive
from the payment ids, :meth:`zhifu.barcode.system.BarcodeSystem.start` brings the two back in
line. Pass ``synchronous="FULL"`` to sync here too.

Instants are stored as integer microseconds since the Unix epoch.

>>> db = Database(":memory:")
>>> db.run(lambda cur: cur.execute("INSERT INTO used_codes VALUES ('k', 1)").rowcount)
1
>>> db.one("SELECT keep_until_us FROM used_codes WHERE key = 'k'")
(1,)
>>> db.close()
>>> from_us(to_us(datetime(2026, 11, 25, 8, tzinfo=SHANGHAI))).isoformat()
'2026-11-25T08:00:00+08:00'
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

T = TypeVar("T")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS api_keys (
  key_id TEXT PRIMARY KEY, principal TEXT NOT NULL, algorithm TEXT NOT NULL,
  public_key TEXT NOT NULL, created_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merchants (
  merchant_id TEXT PRIMARY KEY, institution TEXT NOT NULL, name TEXT NOT NULL,
  kind TEXT NOT NULL, mcc TEXT NOT NULL, fee_bp INTEGER NOT NULL, notify_url TEXT)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS collection_codes (
  token TEXT PRIMARY KEY, institution TEXT NOT NULL, merchant_id TEXT NOT NULL,
  kind TEXT NOT NULL, created_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wallet_accounts (
  institution TEXT NOT NULL, account_id TEXT NOT NULL, customer_id TEXT NOT NULL,
  agreed_limit INTEGER NOT NULL, PRIMARY KEY (institution, account_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
  institution TEXT NOT NULL, handle TEXT NOT NULL, customer_id TEXT NOT NULL,
  account_id TEXT NOT NULL, grade TEXT NOT NULL, PRIMARY KEY (institution, handle))
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY, institution TEXT NOT NULL, merchant_id TEXT NOT NULL,
  out_trade_no TEXT NOT NULL, direction TEXT NOT NULL, amount INTEGER NOT NULL,
  description TEXT NOT NULL, status TEXT NOT NULL, created_us INTEGER NOT NULL,
  expires_us INTEGER, code_token TEXT, paid_us INTEGER, payment_id TEXT,
  payer_institution TEXT, fee INTEGER NOT NULL DEFAULT 0,
  refunded INTEGER NOT NULL DEFAULT 0, terminal_id TEXT,
  UNIQUE (merchant_id, out_trade_no)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS orders_token ON orders (code_token)
  WHERE code_token IS NOT NULL;
CREATE TABLE IF NOT EXISTS payments (
  payment_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, issuer TEXT NOT NULL,
  acquirer TEXT NOT NULL, customer_id TEXT NOT NULL, account_id TEXT NOT NULL,
  amount INTEGER NOT NULL, fee INTEGER NOT NULL, grade TEXT NOT NULL,
  business_date TEXT NOT NULL, status TEXT NOT NULL, created_us INTEGER NOT NULL,
  failure TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refunds (
  refund_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, merchant_id TEXT NOT NULL,
  out_refund_no TEXT NOT NULL, amount INTEGER NOT NULL, fee_refund INTEGER NOT NULL,
  status TEXT NOT NULL, created_us INTEGER NOT NULL, reason TEXT NOT NULL,
  UNIQUE (order_id, out_refund_no)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS obligations (
  obligation_id TEXT PRIMARY KEY, payer TEXT NOT NULL, payee TEXT NOT NULL,
  amount INTEGER NOT NULL, order_id TEXT NOT NULL, reference TEXT NOT NULL,
  business_date TEXT NOT NULL, created_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS obligations_date ON obligations (business_date);
CREATE TABLE IF NOT EXISTS limit_usage (
  institution TEXT NOT NULL, customer_id TEXT NOT NULL, account_id TEXT NOT NULL,
  business_date TEXT NOT NULL, grade TEXT NOT NULL, used INTEGER NOT NULL,
  PRIMARY KEY (institution, customer_id, account_id, business_date, grade)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
  scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL, owner TEXT NOT NULL,
  status INTEGER, body BLOB, created_us INTEGER NOT NULL, PRIMARY KEY (scope, key))
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nonces (
  key_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_us INTEGER NOT NULL,
  PRIMARY KEY (key_id, nonce)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_us);
CREATE TABLE IF NOT EXISTS used_codes (key TEXT PRIMARY KEY, keep_until_us INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY, merchant_id TEXT NOT NULL, type TEXT NOT NULL,
  url TEXT NOT NULL, payload BLOB NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  next_us INTEGER NOT NULL, created_us INTEGER NOT NULL, last_error TEXT);
CREATE INDEX IF NOT EXISTS events_due ON events (next_us) WHERE status = 'pending';
"""


def to_us(when: datetime) -> int:
    """Microseconds since the Unix epoch of an aware instant."""
    if when.tzinfo is None:
        raise UsageError("the instant must be timezone-aware", argument="when")
    return (when - _EPOCH) // _MICRO


def from_us(value: int) -> datetime:
    """The Asia/Shanghai instant of a microsecond count."""
    return (_EPOCH + timedelta(microseconds=value)).astimezone(SHANGHAI)


def opt_from_us(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


class DatabaseClosedError(RuntimeError):
    """The database was closed; nothing more is accepted."""


class Database:
    """One SQLite file (or ``:memory:``), its schema, and its writer thread."""

    def __init__(
        self, path: str = ":memory:", *, synchronous: str = "NORMAL", group_max: int = 512
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise UsageError("synchronous is NORMAL or FULL", argument="synchronous")
        self.path = path
        self.group_max = group_max
        self.groups = 0
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "PRAGMA journal_mode = WAL",
            f"PRAGMA synchronous = {synchronous}",
            "PRAGMA busy_timeout = 30000",
        ):
            self._conn.execute(pragma)
        self._conn.executescript(SCHEMA)
        self._queue: queue.SimpleQueue[tuple[Callable[[sqlite3.Cursor], Any], Future[Any]] | None]
        self._queue = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        self._close_lock = threading.Lock()
        self._cursor = self._conn.cursor()
        self._thread = threading.Thread(target=self._serve, name="zhifu-barcode-db", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Database({self.path!r})"

    def run(self, unit: Callable[[sqlite3.Cursor], T]) -> T:
        """Apply ``unit`` in a transaction on the writer thread; its result once committed."""
        if threading.current_thread() is self._thread:
            return unit(self._cursor)  # a unit calling another: already inside a transaction
        future: Future[T] = Future()
        with self._close_lock:
            if self._closed:
                raise DatabaseClosedError("the barcode database is closed")
            self._queue.put((unit, future))
        return future.result()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query (the last committed state)."""
        reader = self._reader()
        if reader is None:
            return self.run(lambda cur: cur.execute(sql, params).fetchall())
        return reader.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None (the last committed state)."""
        reader = self._reader()
        if reader is None:
            row: tuple[Any, ...] | None = self.run(lambda cur: cur.execute(sql, params).fetchone())
            return row
        found: tuple[Any, ...] | None = reader.execute(sql, params).fetchone()
        return found

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read-only connection to a database file (WAL lets readers read
        beside the writer without waiting); None for an in-memory database or on the writer."""
        if self.path == ":memory:" or threading.current_thread() is self._thread:
            return None
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            with self._close_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        """Finish the units already queued, stop the writer, close the file."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._conn.close()
        for reader in self._readers:
            with contextlib.suppress(sqlite3.ProgrammingError):  # owned by another thread
                reader.close()

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            while len(group) < self.group_max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(more)
            self._apply(group)

    def _apply(self, group: list[tuple[Callable[[sqlite3.Cursor], Any], Future[Any]]]) -> None:
        cur = self._cursor
        done: list[tuple[Future[Any], bool, Any]] = []
        try:
            cur.execute("BEGIN IMMEDIATE")
            for unit, future in group:
                cur.execute("SAVEPOINT unit")
                try:
                    result = unit(cur)
                except BaseException as exc:  # the unit's own failure: undo it alone
                    cur.execute("ROLLBACK TO unit")
                    cur.execute("RELEASE unit")
                    done.append((future, False, exc))
                else:
                    cur.execute("RELEASE unit")
                    done.append((future, True, result))
            cur.execute("COMMIT")
        except BaseException as exc:  # the transaction itself failed: every unit fails
            if self._conn.in_transaction:
                cur.execute("ROLLBACK")
            for _, future in group:
                future.set_exception(exc)
            return
        self.groups += 1
        for future, ok, value in done:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
