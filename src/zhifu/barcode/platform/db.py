"""The barcode platform's own database: one SQLite file (stdlib ``sqlite3``) in WAL mode.

It keeps what the flows need besides money: merchants and their keys, wallet accounts and
devices, collection codes, orders, payments, refunds, obligations, daily limit totals,
idempotency keys, nonces, spent payment codes and the notification outbox. Money itself is in
each institution's ledger (:mod:`zhifu.ledger`), which is the book of record.

Writes are *units* (functions of a cursor) applied in groups, as the ledger's group commit
does: every unit already waiting runs in its own SAVEPOINT inside one ``BEGIN IMMEDIATE``
transaction (a unit that raises is rolled back alone and its caller gets the exception), the
group commits, and only then are the callers answered. Threads hand their units to the writer
thread (:meth:`Database.run`); coroutines (:meth:`Database.call`) have the units of one turn of
their event loop applied at the end of that turn on the loop's own thread, with no thread
hand-off (docs/barcode.md, "Performance"). Checkpoints of the write-ahead log are taken by the
writer thread on a connection of its own when it is idle, never inside a commit, so a commit
only appends to the log. ``synchronous`` is ``NORMAL`` by default: a commit
survives a crash of the process, and a power loss may lose the last few commits of this
database, never of the ledgers (they sync at every commit); because ledger transfer ids derive
from the payment ids, :meth:`zhifu.barcode.platform.system.BarcodeSystem.start` brings the two
back in line. Pass ``synchronous="FULL"`` to sync here too.

The file and its side files (``-wal``, ``-shm``) have mode 0600 and a folder created for them
0700, whatever the umask (:mod:`zhifu.core.files`). Instants are stored as integer
microseconds since the Unix epoch.

>>> db = Database(":memory:")
>>> insert = "INSERT INTO used_codes (key, keep_until_us) VALUES ('k', 1)"
>>> db.run(lambda cur: cur.execute(insert).rowcount)
1
>>> db.one("SELECT keep_until_us FROM used_codes WHERE key = 'k'")
(1,)
>>> db.close()
>>> from_us(to_us(datetime(2026, 11, 25, 8, tzinfo=SHANGHAI))).isoformat()
'2026-11-25T08:00:00+08:00'
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

from zhifu.barcode.platform.schema import SCHEMA
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError
from zhifu.core.files import private_file, private_folder, private_sqlite
from zhifu.core.offload import TurnBatches, resolve

T = TypeVar("T")
Job = tuple[Callable[[sqlite3.Cursor], Any], Future[Any]]
CHECKPOINT_SECONDS: Final = 0.25  # the writer checkpoints after this long without a unit
CHECKPOINT_GROUPS: Final = 500  # ... or after this many groups, however busy
WAL_SIZE_LIMIT: Final = 64 * 1024 * 1024  # the log file is cut back to this after a restart
H = TypeVar("H")
Unit = tuple[Callable[[sqlite3.Cursor], Any], "asyncio.Future[Any]"]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(when: datetime) -> int:
    """Microseconds since the Unix epoch of an aware instant."""
    if when.tzinfo is None:
        raise UsageError("the instant must be timezone-aware", argument="when")
    since = when - _EPOCH  # exact integer arithmetic, no float
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


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
        self,
        path: str = ":memory:",
        *,
        synchronous: str = "NORMAL",
        group_max: int = 512,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise UsageError("synchronous is NORMAL or FULL", argument="synchronous")
        self.path = path
        self.synchronous = synchronous
        self.group_max = group_max
        self.checkpoint_seconds = checkpoint_seconds
        self.groups = 0
        on_disk = path != ":memory:"
        if on_disk:  # orders, payers, keys: owner only, before SQLite writes a byte
            private_folder(Path(path).parent)
            private_file(path)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "PRAGMA journal_mode = WAL",
            f"PRAGMA synchronous = {synchronous}",
            "PRAGMA busy_timeout = 30000",
            "PRAGMA wal_autocheckpoint = 0",  # see _checkpoint
            f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}",
        ):
            self._conn.execute(pragma)
        self._conn.executescript(SCHEMA)
        if on_disk:  # the log and shared-memory files an earlier run left behind
            private_sqlite(path)
        self._queue: queue.SimpleQueue[Job | None]
        self._queue = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        self._close_lock = threading.Lock()
        self._conn_lock = threading.Lock()  # held by whoever applies a group
        self._owner: int | None = None  # the thread applying a group now
        self._batches: TurnBatches[Callable[[sqlite3.Cursor], Any]] = TurnBatches(self._flush)
        self._cursor = self._conn.cursor()
        self._checkpointer: sqlite3.Connection | None = None  # the writer thread's own
        self._thread = threading.Thread(target=self._serve, name="zhifu-barcode-db", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Database({self.path!r})"

    def run(self, unit: Callable[[sqlite3.Cursor], T], *, savepoint: bool = True) -> T:
        """Apply ``unit`` in a transaction on the writer thread; its result once committed.

        A unit that calls :meth:`run` (it is applying a group already) runs the inner unit at
        once, inside its own nested savepoint: the inner unit is all or nothing, and stays
        applied when the outer unit catches its exception and goes on. ``savepoint=False``
        leaves the nested savepoint out, for inner units that cannot fail half-way (one
        statement, or refusals raised before any write).
        """
        if self._owner == threading.get_ident():
            return self._nested(unit) if savepoint else unit(self._cursor)
        return self.submit(unit).result()

    def submit(self, unit: Callable[[sqlite3.Cursor], T]) -> Future[T]:
        """Queue ``unit`` for the writer thread without waiting: its future is resolved once
        the group it ran in has committed."""
        future: Future[T] = Future()
        with self._close_lock:
            if self._closed:
                raise DatabaseClosedError("the barcode database is closed")
            self._queue.put((unit, future))
        return future

    async def call(self, unit: Callable[[sqlite3.Cursor], T]) -> T:
        """:meth:`run` for a coroutine, without a thread hand-off.

        The units that the event loop's tasks submit during one turn of the loop are applied
        as one group, on the loop's own thread, at the end of that turn: no fsync waits there
        (``synchronous=NORMAL`` syncs only at checkpoints, see the module docstring), and no
        thread wakes another per unit. With ``synchronous=FULL`` every commit syncs, so the
        units go to the writer thread instead.
        """
        if self._closed:
            raise DatabaseClosedError("the barcode database is closed")
        if self.synchronous == "FULL":
            return await asyncio.wrap_future(self.submit(unit))
        result: T = await self._batches.submit(unit)
        return result

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query (the last committed state; inside a unit, its own state)."""
        return self._read(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None (as :meth:`all`)."""
        row: tuple[Any, ...] | None = self._read(sql, params).fetchone()
        return row

    def _read(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        if self._owner == threading.get_ident():  # inside a unit: see its own writes
            return self._conn.execute(sql, params)
        if self.path == ":memory:":  # one connection only: read as a unit
            rows = self.run(lambda cur: cur.execute(sql, params).fetchall())
            return _Rows(rows)  # type: ignore[return-value]
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:  # this thread's read-only connection (WAL: reads beside the writer)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            with self._close_lock:
                self._readers.append(conn)
        return conn.execute(sql, params)

    def close(self) -> None:
        """Finish the units already queued, stop the writer, close the file."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._conn_lock:
            self._conn.close()  # the last connection to close checkpoints the log
        for reader in self._readers:
            with contextlib.suppress(sqlite3.ProgrammingError):  # owned by another thread
                reader.close()

    def _serve(self) -> None:
        checkpointed = 0
        while True:
            try:
                item = self._queue.get(timeout=self.checkpoint_seconds)
            except queue.Empty:  # idle: a good time to checkpoint
                checkpointed = self.groups
                self._checkpoint()
                continue
            if item is None:
                return
            if self.groups - checkpointed >= CHECKPOINT_GROUPS:
                checkpointed = self.groups
                self._checkpoint()
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
            for future, ok, value in self._apply(group):
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _checkpoint(self) -> None:
        """Copy the log into the database file (``PASSIVE``: writers go on meanwhile), on
        the writer thread's own connection; the log restarts from its beginning afterwards."""
        if self.path == ":memory:":
            return
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            self._checkpointer.execute("PRAGMA busy_timeout = 1000")
        with contextlib.suppress(sqlite3.OperationalError):  # busy: the next one catches up
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _flush(self, loop: asyncio.AbstractEventLoop, group: list[Unit]) -> None:
        if self._closed:
            closed = DatabaseClosedError("the barcode database is closed")
            resolve((future, False, closed) for _, future in group)
            return
        resolve(self._apply(group))

    def _apply(
        self, group: Sequence[tuple[Callable[[sqlite3.Cursor], Any], H]]
    ) -> list[tuple[H, bool, Any]]:
        """Apply a group in one transaction, each unit in its own savepoint; (the caller's
        handle, ok, result or exception) per unit, once committed."""
        with self._conn_lock:
            self._owner = threading.get_ident()
            try:
                outcomes = self._transaction([unit for unit, _ in group])
            finally:
                self._owner = None
        return [
            (handle, ok, value) for (_, handle), (ok, value) in zip(group, outcomes, strict=True)
        ]

    def _transaction(self, units: list[Callable[[sqlite3.Cursor], Any]]) -> list[tuple[bool, Any]]:
        cur = self._cursor
        done: list[tuple[bool, Any]] = []
        try:
            cur.execute("BEGIN IMMEDIATE")
            for unit in units:
                cur.execute("SAVEPOINT unit")
                try:
                    result = unit(cur)
                except BaseException as exc:  # the unit's own failure: undo it alone
                    cur.execute("ROLLBACK TO unit")
                    cur.execute("RELEASE unit")
                    done.append((False, exc))
                else:
                    cur.execute("RELEASE unit")
                    done.append((True, result))
            cur.execute("COMMIT")
        except BaseException as exc:  # the transaction itself failed: every unit fails
            if self._conn.in_transaction:
                cur.execute("ROLLBACK")
            return [(False, exc) for _ in units]
        self.groups += 1
        return done

    def _nested(self, unit: Callable[[sqlite3.Cursor], T]) -> T:
        cur = self._cursor
        cur.execute("SAVEPOINT nested")
        try:
            result = unit(cur)
        except BaseException:
            cur.execute("ROLLBACK TO nested")
            cur.execute("RELEASE nested")
            raise
        cur.execute("RELEASE nested")
        return result


class _Rows:
    """Rows already fetched, read like a cursor."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None
