"""The event log's tables (SQLAlchemy Core): a SQLite file in the clearing folder, or PostgreSQL.

The names carry a ``clearing_`` prefix, so the log may share a database with other tables:

* ``clearing_events (seq, time, kind, body, digest)``: one row per record, ``seq`` 1, 2, 3 ...
  in the order the engine ran the calls; ``body`` is the record as canonical JSON and
  ``digest`` its SHA-256 (hex). Rows are only ever added.
* ``clearing_outbox (bank, seq, event_seq, data)``: the signed messages put in each bank's
  inbox, numbered per bank from 1 (the ``X-Seq`` of its polls), with the last record of the
  commit that put them there.
* ``clearing_counters (name, value)``: numbers handed out in blocks (:meth:`EventStore.reserve`,
  :class:`Serials`: the serials of the centre's message ids, which must not repeat after a
  restart).
* ``clearing_torn (id, seq, body, digest, found_at)``: a damaged last record, moved aside at load.

:meth:`EventStore.commit` writes records and inbox messages in one transaction: either all of
them are durable when it returns, or none. SQLite runs in WAL mode with ``synchronous=FULL``, so
a commit returns after the log reached the disk; PostgreSQL commits synchronously by default.
The SQLite file is created with mode 0600.

**Damage.** :meth:`EventStore.load` checks every row: numbers without a gap, the digest, the
JSON, a known kind. A damaged *last* record (a torn write: the process or the disk died while
it was written) is moved to ``clearing_torn`` with a warning and the log goes on without it;
damage anywhere else stops the load with :class:`EventLogError` naming the record, since
replaying past it would rebuild a state that never was.

>>> store = EventStore.open("sqlite://")
>>> store.commit([{"type": "clock", "time": "2025-10-09T10:00:00+08:00"}],
...              [("102100099996", b"<Document/>")])
[1]
>>> loaded = store.load()
>>> [r["type"] for r in loaded.records], loaded.inboxes
(['clock'], {'102100099996': [b'<Document/>']})
>>> store.reserve("serial", 1000), store.reserve("serial", 1000)
(1, 1001)
>>> store.close()
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from zhifu.clearing.eventlog.records import KINDS, Record
from zhifu.core.errors import UsageError, ZhifuError

__all__ = ["CentreLog", "EventLogError", "EventStore", "Loaded", "Serials", "canonical", "digest"]

log = logging.getLogger("zhifu.clearing.eventlog")
FILE_MODE: Final = 0o600
SERIAL_BLOCK: Final = 10_000

metadata = sa.MetaData()
events = sa.Table(
    "clearing_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
)
outbox = sa.Table(
    "clearing_outbox",
    metadata,
    sa.Column("bank", sa.String(12), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_seq", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
counters = sa.Table(
    "clearing_counters",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
torn = sa.Table(
    "clearing_torn",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("found_at", sa.String(40), nullable=False),
)


class EventLogError(ZhifuError):
    """The event log cannot be read or written (damaged, or another writer appended)."""


def canonical(record: Mapping[str, Any]) -> str:
    """A record as the JSON text the log stores (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(body: str) -> str:
    """The SHA-256 (hex) of a stored body."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class Loaded:
    """What a log holds: its records in order and each bank's inbox messages in order."""

    records: list[Record] = field(default_factory=list)
    inboxes: dict[str, list[bytes]] = field(default_factory=dict)
    torn: int | None = None  # the number of a damaged last record moved aside, if any


def _url(text: str) -> URL:
    try:
        url = make_url(text)
    except ArgumentError:
        raise UsageError("not a database URL", argument="database_url") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver zhifu ships
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError("use sqlite:///FILE or postgresql://...", argument="database_url")
    return url


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if missing (SQLite gives its WAL the same mode)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)


def _on_connect(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class EventStore:
    """The event log in a database (see the module docstring). One writer: the centre."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._next = 1  # the number of the next record
        self._inbox: dict[str, int] = {}  # messages per bank
        self._count()

    @classmethod
    def open(cls, url: str) -> EventStore:
        """Open (creating the tables if need be) the log at a SQLAlchemy URL: ``sqlite:///FILE``
        (``sqlite://`` in memory) or ``postgresql://user@host/db``."""
        parsed = _url(url)
        path = _sqlite_file(parsed)
        if parsed.get_backend_name() == "sqlite":
            if path is not None:
                _private_file(path)
            pool = {"poolclass": StaticPool} if path is None else {}
            engine = sa.create_engine(parsed, connect_args={"check_same_thread": False}, **pool)
            sa.event.listen(engine, "connect", _on_connect)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True)
        try:
            return cls(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise EventLogError(f"cannot open the event log: {type(exc).__name__}") from None

    def _count(self) -> None:
        with self.engine.connect() as conn:
            last = conn.execute(sa.select(sa.func.max(events.c.seq))).scalar()
            rows = conn.execute(
                sa.select(outbox.c.bank, sa.func.max(outbox.c.seq)).group_by(outbox.c.bank)
            )
            self._inbox = {bank: int(n) for bank, n in rows}
        self._next = int(last or 0) + 1

    @property
    def empty(self) -> bool:
        """Whether the log holds no record yet."""
        return self._next == 1

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ------------------------------------------------------------------------------
    def commit(
        self, records: Sequence[Record], messages: Sequence[tuple[str, bytes]] = ()
    ) -> list[int]:
        """Append ``records`` and inbox ``messages`` (bank, data) in one transaction; return
        the messages' numbers in their banks' inboxes."""
        rows = []
        for n, record in enumerate(records, self._next):
            body = canonical(record)
            rows.append(
                {
                    "seq": n,
                    "time": record["time"],
                    "kind": record["type"],
                    "body": body,
                    "digest": digest(body),
                }
            )
        counts = dict(self._inbox)
        numbers, boxes = [], []
        last = self._next + len(rows) - 1
        for bank, data in messages:
            counts[bank] = counts.get(bank, 0) + 1
            numbers.append(counts[bank])
            boxes.append({"bank": bank, "seq": counts[bank], "event_seq": last, "data": data})
        try:
            with self.engine.begin() as conn:
                if rows:
                    conn.execute(events.insert(), rows)
                if boxes:
                    conn.execute(outbox.insert(), boxes)
        except SQLAlchemyError as exc:
            raise EventLogError(
                f"cannot append to the event log: {type(exc).__name__} (another writer, or the "
                "disk)"
            ) from None
        self._next += len(rows)
        self._inbox = counts
        return numbers

    def reserve(self, name: str, count: int) -> int:
        """Hand out ``count`` numbers of the counter ``name`` (durably); the first of them."""
        if count < 1:
            raise UsageError("reserve at least one number", argument="count")
        try:
            with self.engine.begin() as conn:
                query = sa.select(counters.c.value).where(counters.c.name == name)
                found = conn.execute(query.with_for_update()).scalar()
                if found is None:
                    conn.execute(counters.insert(), {"name": name, "value": count})
                    return 1
                conn.execute(
                    counters.update().where(counters.c.name == name).values(value=found + count)
                )
                return int(found) + 1
        except SQLAlchemyError as exc:
            raise EventLogError(f"cannot reserve numbers: {type(exc).__name__}") from None

    # -- reading ------------------------------------------------------------------------------
    def load(self) -> Loaded:
        """Every record and inbox message, checked (see the module docstring)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(events).order_by(events.c.seq)).all()
            boxes = conn.execute(
                sa.select(outbox.c.bank, outbox.c.data).order_by(outbox.c.bank, outbox.c.seq)
            ).all()
        loaded = Loaded()
        for index, row in enumerate(rows):
            record, problem = _check(row, index + 1)
            if problem is None:
                loaded.records.append(record)
                continue
            if index < len(rows) - 1:
                raise EventLogError(f"event {row.seq} of the log is damaged ({problem})")
            loaded.torn = self._move_aside(row, problem)
        for bank, data in boxes:
            loaded.inboxes.setdefault(bank, []).append(bytes(data))
        self._count()
        return loaded

    def _move_aside(self, row: sa.Row[Any], problem: str) -> int:
        found_at = datetime.now(UTC).isoformat()
        with self.engine.begin() as conn:
            conn.execute(
                torn.insert(),
                {"seq": row.seq, "body": row.body, "digest": row.digest, "found_at": found_at},
            )
            conn.execute(events.delete().where(events.c.seq == row.seq))
        log.warning(
            "the last event of the log (%d) is damaged (%s), a torn write: moved to "
            "clearing_torn, the log goes on without it",
            row.seq,
            problem,
        )
        return int(row.seq)


def _check(row: sa.Row[Any], expected: int) -> tuple[Record, str | None]:
    if row.seq != expected:
        return {}, f"number {row.seq} where {expected} was due"
    if digest(row.body) != row.digest:
        return {}, "its digest does not match"
    try:
        record = json.loads(row.body)
    except ValueError:
        return {}, "not JSON"
    if not isinstance(record, dict) or record.get("type") not in KINDS:
        return {}, "not a record"
    return record, None


class CentreLog(Protocol):
    """What a clearing centre needs of its log (:class:`EventStore` is one)."""

    def commit(
        self, records: Sequence[Record], messages: Sequence[tuple[str, bytes]] = ()
    ) -> list[int]:
        """Append records and inbox messages (bank, data) in one transaction."""
        ...

    def reserve(self, name: str, count: int) -> int:
        """Hand out ``count`` numbers of a durable counter; the first of them."""
        ...


class Serials:
    """Serials 1, 2, 3 ... of the counter ``name``; with a log, taken from blocks of
    :data:`SERIAL_BLOCK` reserved in it, so a restart goes on after the last block (a gap,
    never a repeat).

    >>> store = EventStore.open("sqlite://")
    >>> first = Serials(store, "ids")
    >>> [next(first) for _ in range(3)], next(Serials(store, "ids"))  # a restart
    ([1, 2, 3], 10001)
    """

    def __init__(self, log: CentreLog | None, name: str) -> None:
        self.log = log
        self.name = name
        self._next = 1
        self._end = 1 if log is not None else None

    def __next__(self) -> int:
        if self.log is not None and self._next == self._end:
            self._next = self.log.reserve(self.name, SERIAL_BLOCK)
            self._end = self._next + SERIAL_BLOCK
        found, self._next = self._next, self._next + 1
        return found
