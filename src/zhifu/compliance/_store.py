"""What the compliance books share: an SQLite connection, append-only tables, instants as text.

Instants are stored as integer microseconds since the Unix epoch (they sort and compare as
numbers) and come back as timezone-aware datetimes in Asia/Shanghai, the zone of business rules.

>>> from datetime import datetime
>>> from zhifu.core.clock import SHANGHAI
>>> when = datetime(2026, 3, 1, 9, 30, tzinfo=SHANGHAI)
>>> from_us(to_us(when)) == when
True
>>> db = connect(":memory:", "CREATE TABLE t (x INTEGER);" + append_only("t"))
>>> _ = db.execute("INSERT INTO t VALUES (1)")
>>> db.execute("DELETE FROM t")
Traceback (most recent call last):
...
sqlite3.IntegrityError: t rows are never updated or deleted
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def connect(path: str | Path, schema: str) -> sqlite3.Connection:
    """An autocommit connection to ``path`` (a file or ``":memory:"``) with ``schema`` applied."""
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.executescript(schema)
    return db


def append_only(table: str) -> str:
    """Triggers that refuse any UPDATE or DELETE on ``table``."""
    refuse = f"BEGIN SELECT RAISE(ABORT, '{table} rows are never updated or deleted'); END;"
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} {refuse}\n"
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} {refuse}\n"
    )


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back when it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def to_us(when: datetime, argument: str = "at") -> int:
    """Microseconds since the epoch of a timezone-aware instant."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise UsageError("the time must be timezone-aware", argument=argument)
    return (when - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    """The instant ``us`` microseconds after the epoch, in Asia/Shanghai."""
    return (_EPOCH + us * _MICROSECOND).astimezone(SHANGHAI)
