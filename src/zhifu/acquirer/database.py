"""The acquirer's SQLite database: one connection, one lock, short transactions.

The registry (:mod:`~zhifu.acquirer.registry`), the parameter tables
(:mod:`~zhifu.acquirer.tables`) and the message journal (:mod:`~zhifu.acquirer.journal`) share
one database file (``:memory:`` in tests). The host runs its pipeline in worker threads, so the
connection is shared under a re-entrant lock and every write is one ``BEGIN IMMEDIATE``
transaction. A file database runs in WAL mode with ``synchronous = NORMAL`` so that the admin
command line can write while the host serves. Its folder is created with mode 0700, the
database and SQLite's files beside it have mode 0600 (:mod:`zhifu.core.files`).

>>> db = Database(":memory:")
>>> db.ensure_schema("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER);")
>>> with db.transaction() as cur:
...     _ = cur.execute("INSERT INTO t VALUES ('a', 1)")
>>> db.query("SELECT k, v FROM t")
[('a', 1)]
>>> db.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zhifu.core.errors import ZhifuError
from zhifu.core.files import private_file, private_folder, private_sqlite

__all__ = ["Database", "DatabaseError"]


class DatabaseError(ZhifuError):
    """The acquirer database cannot be opened or written."""


class Database:
    """A shared SQLite connection for the acquirer's tables."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._path = str(path)
        self._lock = threading.RLock()
        on_disk = self._path != ":memory:"
        try:
            if on_disk:  # merchants, terminals, the journal: owner only
                private_folder(Path(self._path).parent)
                private_file(self._path)
            self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA foreign_keys = ON")
            if on_disk:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._db.execute("PRAGMA busy_timeout = 5000")
                private_sqlite(self._path)
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(
                f"cannot open the acquirer database at {self._path} ({exc})"
            ) from None

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``)."""
        return self._path

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def ensure_schema(self, script: str) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements."""
        with self._lock:
            try:
                self._db.executescript(script)
            except sqlite3.Error as exc:
                raise DatabaseError(f"cannot create the acquirer tables ({exc})") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction (rolled back if the block raises)."""
        with self._lock:
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a read query."""
        with self._lock:
            return [tuple(row) for row in self._db.execute(sql, tuple(params)).fetchall()]

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a read query, or None."""
        with self._lock:
            row = self._db.execute(sql, tuple(params)).fetchone()
        return None if row is None else tuple(row)
