"""The message journal: every message in and out, redacted, with its timing.

One row per message: direction (``in``, ``out``, or ``broken`` for a frame that could not be
read), the exchange it belongs to (the ``seq`` of the request row), the time it was received
or handed to the connection, the time the host took (on ``out`` rows), the peer, MTI,
terminal, merchant, STAN, 60.3, field 39, the participant group, the frame size, TPDU and
header, the fields as :func:`zhifu.iso8583.redact.redact` prints them (PAN 6 + 4, tracks, PIN
block and sign-on keys never in clear) and a note (the outcome's reason, never data).
Raw frame bytes are never stored.

Rows are built first (:meth:`Journal.in_row`, :meth:`~Journal.out_row`,
:meth:`~Journal.broken_row`) and written by :meth:`Journal.write`, as many as there are in one
transaction: the host journals the requests of a whole batch of frames at once, and their
responses at once, so that a busy host commits twice per batch instead of twice per message.

>>> from datetime import datetime
>>> from zhifu.acquirer.database import Database
>>> from zhifu.core.clock import SHANGHAI
>>> from zhifu.iso8583 import Header, Message, Tpdu
>>> journal = Journal(Database())
>>> at = datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI)
>>> msg = Message("0200", {"2": "6217857600008050804", "41": "10000001", "11": "000123"})
>>> seq = journal.record_in(msg, peer="127.0.0.1:5000", at=at, size=40, tpdu=Tpdu(),
...                         header=Header())
>>> entry = journal.recent(1)[0]
>>> entry.direction, entry.mti, entry.terminal_id, entry.stan, entry.fields["2"]
('in', '0200', '10000001', '000123', '621785*********0804')
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from zhifu.acquirer.database import Database
from zhifu.iso8583.framing import Header, Tpdu
from zhifu.iso8583.message import Message
from zhifu.iso8583.redact import redact

__all__ = ["Journal", "JournalEntry", "PendingRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, exchange INTEGER, direction TEXT NOT NULL,
    at TEXT NOT NULL, duration_ms REAL, peer TEXT NOT NULL, mti TEXT, terminal_id TEXT,
    merchant_id TEXT, stan TEXT, network_code TEXT, response_code TEXT, grp TEXT,
    size INTEGER NOT NULL, tpdu TEXT, header TEXT, fields TEXT NOT NULL, note TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_terminal ON journal (terminal_id, seq);
CREATE INDEX IF NOT EXISTS journal_exchange ON journal (exchange, direction);
CREATE INDEX IF NOT EXISTS journal_merchant ON journal (merchant_id, seq);
CREATE INDEX IF NOT EXISTS journal_stan ON journal (stan, seq);
CREATE INDEX IF NOT EXISTS journal_at ON journal (direction, at);
CREATE INDEX IF NOT EXISTS journal_day ON journal (direction, mti, at, response_code);
CREATE INDEX IF NOT EXISTS journal_rrn ON journal (json_extract(fields, '$."37"'))
    WHERE direction = 'out';
CREATE INDEX IF NOT EXISTS journal_batch ON journal (substr(json_extract(fields, '$."60"'), 3, 6))
    WHERE direction = 'in';
"""
"""The indexes serve :mod:`zhifu.acquirer.exchanges` (the console's searches and hourly
figures): an exchange's rows, a merchant, a STAN, a day's rows and a day's messages of one type
(with their field 39), an RRN (37 of the answer) and a batch (60.2 of the request); the last two
index the expressions that module queries."""
_COLUMNS = (
    "seq, exchange, direction, at, duration_ms, peer, mti, terminal_id, merchant_id, stan, "
    "network_code, response_code, grp, size, tpdu, header, fields, note"
)
_INSERT = (
    f"INSERT INTO journal ({_COLUMNS}) "  # noqa: S608 - fixed columns
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_LAST_SEQ = (
    "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'journal'), 0), "
    "COALESCE((SELECT MAX(seq) FROM journal), 0))"
)
"""The last seq ever given (AUTOINCREMENT never reuses one, even after a prune)."""


class PendingRow(NamedTuple):
    """A journal row built and not yet written: its columns after ``seq`` (exchange first).

    ``own_exchange``: the row opens an exchange (a request, a broken frame), whose id is the
    row's own seq.
    """

    values: tuple[Any, ...]
    own_exchange: bool


_to_json = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without building an encoder per call."""


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    """One journal row."""

    seq: int
    exchange: int | None
    direction: str
    at: datetime
    duration_ms: float | None
    peer: str
    mti: str | None
    terminal_id: str | None
    merchant_id: str | None
    stan: str | None
    network_code: str | None
    response_code: str | None
    group: str | None
    size: int
    tpdu: str | None
    header: str | None
    fields: dict[str, str]
    note: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat()
        return data


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    values = list(row)
    values[3] = datetime.fromisoformat(values[3])
    values[16] = json.loads(values[16])
    return JournalEntry(*values)


def _network_code(message: Message) -> str | None:
    field_60 = message.get("60") or ""
    return field_60[8:11] or None


class Journal:
    """The journal table of the acquirer database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(_SCHEMA)

    def write(self, rows: Sequence[PendingRow]) -> list[int]:
        """Write ``rows`` in one transaction, in order; their seqs."""
        if not rows:
            return []
        with self._db.transaction() as cur:
            row = cur.execute(_LAST_SEQ).fetchone()
            first = int(row[0]) + 1
            params = [
                (seq, seq if pending.own_exchange else pending.values[0], *pending.values[1:])
                for seq, pending in enumerate(rows, start=first)
            ]
            cur.executemany(_INSERT, params)
        return list(range(first, first + len(rows)))

    def record_in(self, message: Message, **columns: Any) -> int:
        """Record a request (the arguments of :meth:`in_row`); its seq, the exchange id."""
        return self.write([self.in_row(message, **columns)])[0]

    def record_out(self, message: Message, **columns: Any) -> int:
        """Record a response (the arguments of :meth:`out_row`); its seq."""
        return self.write([self.out_row(message, **columns)])[0]

    def record_broken(self, **columns: Any) -> int:
        """Record an unreadable frame (the arguments of :meth:`broken_row`); its seq."""
        return self.write([self.broken_row(**columns)])[0]

    def in_row(
        self,
        message: Message,
        *,
        peer: str,
        at: datetime,
        size: int,
        tpdu: Tpdu | None = None,
        header: Header | None = None,
        note: str = "",
    ) -> PendingRow:
        """The row of a request; its ``seq`` is also the exchange id of its response."""
        return PendingRow(
            (None, "in", at.isoformat(), None, peer, *self._message_columns(message), None,
             size, tpdu.hex if tpdu else None, header.hex if header else None,
             _to_json(redact(message)), note),
            own_exchange=True,
        )  # fmt: skip

    def out_row(
        self,
        message: Message,
        *,
        exchange: int | None,
        peer: str,
        at: datetime,
        duration_ms: float,
        size: int,
        tpdu: Tpdu | None = None,
        header: Header | None = None,
        group: str = "",
        note: str = "",
    ) -> PendingRow:
        """The row of a response to exchange ``exchange``, with the time the host took."""
        return PendingRow(
            (exchange, "out", at.isoformat(), round(duration_ms, 3), peer,
             *self._message_columns(message), group or None, size,
             tpdu.hex if tpdu else None, header.hex if header else None,
             _to_json(redact(message)), note),
            own_exchange=False,
        )  # fmt: skip

    def broken_row(
        self,
        *,
        peer: str,
        at: datetime,
        size: int,
        error: str,
        mti: str | None = None,
        tpdu: Tpdu | None = None,
        header: Header | None = None,
    ) -> PendingRow:
        """The row of a frame that could not be read (the error names field and offset only)."""
        return PendingRow(
            (None, "broken", at.isoformat(), None, peer, mti, None, None, None, None, None,
             None, size, tpdu.hex if tpdu else None, header.hex if header else None, "{}",
             error),
            own_exchange=True,
        )  # fmt: skip

    @staticmethod
    def _message_columns(message: Message) -> tuple[str | None, ...]:
        return (
            message.mti,
            message.get("41"),
            message.get("42"),
            message.get("11"),
            _network_code(message),
            message.get("39"),
        )

    def recent(self, last: int = 20, *, terminal_id: str | None = None) -> list[JournalEntry]:
        """The last ``last`` rows (of one terminal if given), oldest first."""
        where, params = ("WHERE terminal_id = ? ", (terminal_id,)) if terminal_id else ("", ())
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM journal {where}ORDER BY seq DESC LIMIT ?",  # noqa: S608
            (*params, max(0, last)),
        )
        return [_entry(row) for row in reversed(rows)]

    def exchange(self, exchange: int) -> list[JournalEntry]:
        """The request and response rows of one exchange."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM journal WHERE exchange = ? ORDER BY seq",  # noqa: S608
            (exchange,),
        )
        return [_entry(row) for row in rows]

    def count(self) -> int:
        """How many rows."""
        row = self._db.query_one("SELECT COUNT(*) FROM journal")
        return int(row[0]) if row else 0

    def prune(self, before: datetime) -> int:
        """Delete the rows older than ``before``; how many went."""
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM journal WHERE at < ?", (before.isoformat(),))
            return int(cur.rowcount)
