"""The PostgreSQL store: psycopg 3, batched statements, row locks in account-id order.

Several processes may write at once. Each group locks every account it can touch with one
``SELECT ... WHERE id IN (...) ORDER BY id FOR UPDATE``: rows are locked in id order, so two
writers never wait on each other in a cycle, and every balance is validated and rewritten
while its row is locked (no lost update). New rows go in with ``COPY`` (transfers) and
``executemany`` (psycopg pipelines it); all balance changes of a group are applied by one
``UPDATE ... FROM unnest(...)``. A writer that races another on the same new transfer id or
timestamp gets a unique violation and re-runs its group. ``synchronous_commit`` is forced on:
a commit returns after PostgreSQL flushed its WAL.

Run against a live server (the test suite starts a throwaway cluster): see
``tests/unit/ledger/conftest.py``.

>>> PgStore.dialect
'postgresql'
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from zhifu.core.clock import Clock
from zhifu.core.errors import UsageError
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

BOOTSTRAP_LOCK: Final = 0x7A68_6966_7500  # pg_advisory_xact_lock key while creating the schema
_IN_ARRAY = " IN (SELECT unnest(%b::bytea[]))"  # a semi-join: no O(rows x ids) ANY scan
_LOCK_ACCOUNTS = (
    f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id{_IN_ARRAY}"  # noqa: S608 - constant SQL
    " ORDER BY id FOR UPDATE"
)
_INSERT_ACCOUNT = f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ({', '.join(['%s'] * 12)})"  # noqa: S608 - constant SQL, values are bound
_COPY_TRANSFERS = f"COPY transfers ({TRANSFER_COLUMNS}) FROM STDIN"
_UPDATE_BALANCES = (
    "UPDATE accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo,"
    " credits_pending = v.cp, credits_posted = v.cpo"
    " FROM unnest(%b::bytea[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[])"
    " AS v(id, dp, dpo, cp, cpo) WHERE a.id = v.id"
)
_INSERT_PENDING = "INSERT INTO pending_transfers VALUES (%s, %s, %s, %s, %s)"
_UPDATE_PENDING = (
    "UPDATE pending_transfers SET state = %s, resolved_by = %s, resolved_at = %s WHERE id = %s"
)
_INSERT_HISTORY = "INSERT INTO account_balances VALUES (%s, %s, %s, %s, %s, %s)"
_INSERT_FAILURE = "INSERT INTO transfer_failures VALUES (%s, %s, %s)"


def _psycopg() -> Any:
    try:
        import psycopg  # noqa: PLC0415 - late import: optional dependency
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UsageError(
            "PostgreSQL needs the psycopg package (pip install 'psycopg[binary]')",
            argument="url",
        ) from exc
    return psycopg


def _sql(statement: str) -> str:
    return statement.replace("?", "%s")


class PgStore(Store):
    """A ledger in a PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, conninfo: str, clock: Clock, *, create: bool) -> None:
        super().__init__(clock)
        psycopg = _psycopg()
        self._errors = psycopg.errors
        self._w = psycopg.connect(conninfo, autocommit=False)
        self._w.execute("SET synchronous_commit = on")
        self._w.commit()
        self._r = psycopg.connect(conninfo, autocommit=True)
        self._read_lock = threading.RLock()
        self._bootstrap(create)

    def _bootstrap(self, create: bool) -> None:
        w = self._w
        try:
            w.execute("SELECT pg_advisory_xact_lock(%s)", (BOOTSTRAP_LOCK,))
            row = w.execute("SELECT to_regclass('alembic_version')").fetchone()
            if row[0] is not None:
                version = w.execute("SELECT version_num FROM alembic_version").fetchone()
                if version is None or version[0] != schema.SCHEMA_REVISION:
                    raise UsageError(
                        f"ledger schema {version and version[0]!r}, this zhifu needs "
                        f"{schema.SCHEMA_REVISION!r}: run the Alembic migrations",
                        argument="url",
                    )
            elif w.execute("SELECT to_regclass('transfers')").fetchone()[0] is not None:
                raise UsageError(
                    "the database holds a 'transfers' table, not a ledger", argument="url"
                )
            elif not create:
                raise UsageError("no ledger in this database", argument="url")
            else:
                for statement in schema.bootstrap_statements("postgresql"):
                    w.execute(statement)
            w.commit()
        except BaseException:
            w.rollback()
            raise

    # -- write hooks --------------------------------------------------------------------

    def begin(self) -> None:
        pass  # psycopg opens a transaction with the first statement

    def commit(self) -> None:
        self._w.commit()

    def rollback(self) -> None:
        self._w.rollback()

    def is_retryable(self, exc: BaseException) -> bool:
        e = self._errors
        return isinstance(
            exc,
            e.UniqueViolation | e.DeadlockDetected | e.SerializationFailure | e.LockNotAvailable,
        )

    def select_ids(self, sql: str, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        if not ids:
            return []
        return self._w.execute(sql + _IN_ARRAY, (list(ids),)).fetchall()  # type: ignore[no-any-return]

    def lock_accounts(self, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        if not ids:
            return []
        return self._w.execute(_LOCK_ACCOUNTS, (list(ids),)).fetchall()  # type: ignore[no-any-return]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._w.execute(_sql(sql), params).fetchall()  # type: ignore[no-any-return]

    def write(self, changes: Changes) -> None:
        cur = self._w.cursor()
        if changes.accounts_new:
            cur.executemany(_INSERT_ACCOUNT, [account_row(a) for a in changes.accounts_new])
        if changes.transfers_new:
            rows = sorted(map(transfer_row, changes.transfers_new))  # id order: no lock cycles
            with cur.copy(_COPY_TRANSFERS) as copy:
                for row in rows:
                    copy.write_row(row)
        if changes.accounts_changed:
            columns: list[list[Any]] = [[], [], [], [], []]
            for a in changes.accounts_changed:
                for column, value in zip(columns, (to_id(a.id), *a.balances()), strict=True):
                    column.append(value)
            cur.execute(_UPDATE_BALANCES, columns)
        if changes.pending_new:
            cur.executemany(_INSERT_PENDING, pending_rows(changes.pending_new))
        if changes.pending_changed:
            rows = pending_rows(changes.pending_changed)
            cur.executemany(_UPDATE_PENDING, [(*r[2:], r[0]) for r in rows])
        if changes.history:
            cur.executemany(_INSERT_HISTORY, [(to_id(h[0]), *h[1:]) for h in changes.history])
        if changes.failures:
            rows = sorted((to_id(f[0]), *f[1:]) for f in changes.failures)
            cur.executemany(_INSERT_FAILURE, rows)

    # -- reads --------------------------------------------------------------------------

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return self._r.execute(_sql(sql), params).fetchall()  # type: ignore[no-any-return]

    def read_ids(self, sql: str, ids: Sequence[bytes]) -> list[tuple[Any, ...]]:
        if not ids:
            return []
        with self._read_lock:
            return self._r.execute(sql + _IN_ARRAY, (list(ids),)).fetchall()  # type: ignore[no-any-return]

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with self._read_lock:
            self._r.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield
            finally:
                self._r.execute("COMMIT")

    def close(self) -> None:
        with self._read_lock:
            self._r.close()
            self._w.close()
