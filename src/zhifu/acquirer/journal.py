"""The message journal: every message in and out, redacted, with its timing.

One row per message: direction (``in``, ``out``, or ``broken`` for a frame that could not be
read), the exchange it belongs to (the ``seq`` of the request row), the time it was received
or handed to the connection, the time the host took (on ``out`` rows), the peer, MTI,
terminal, merchant, STAN, 60.3, field 39, the participant group, the frame size, TPDU and
header, the fields as :func:`zhifu.iso8583.redact.redact` prints them (PAN 6 + 4, tracks, PIN
block and sign-on keys never in clear) and a note (the outcome's reason, never data).
Raw frame bytes are never stored.

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
from datetime import datetime
from typing import Any

from zhifu.acquirer.database import Database
from zhifu.iso8583.framing import Header, Tpdu
from zhifu.iso8583.message import Message
from zhifu.iso8583.redact import redact

__all__ = ["Journal", "JournalEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, exchange INTEGER, direction TEXT NOT NULL,
    at TEXT NOT NULL, duration_ms REAL, peer TEXT NOT NULL, mti TEXT, terminal_id TEXT,
    merchant_id TEXT, stan TEXT, network_code TEXT, response_code TEXT, grp TEXT,
    size INTEGER NOT NULL, tpdu TEXT, header TEXT, fields TEXT NOT NULL, note TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_terminal ON journal (terminal_id, seq);
"""
_COLUMNS = (
    "seq, exchange, direction, at, duration_ms, peer, mti, terminal_id, merchant_id, stan, "
    "network_code, response_code, grp, size, tpdu, header, fields, note"
)
_INSERT = (
    f"INSERT INTO journal ({_COLUMNS.removeprefix('seq, ')}) "  # noqa: S608 - fixed columns
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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

    def _insert(self, values: tuple[Any, ...], *, own_exchange: bool) -> int:
        with self._db.transaction() as cur:
            cur.execute(_INSERT, values)
            seq = int(cur.lastrowid or 0)
            if own_exchange:
                cur.execute("UPDATE journal SET exchange = seq WHERE seq = ?", (seq,))
        return seq

    def record_in(
        self,
        message: Message,
        *,
        peer: str,
        at: datetime,
        size: int,
        tpdu: Tpdu | None = None,
        header: Header | None = None,
        note: str = "",
    ) -> int:
        """Record a request; its ``seq``, which is also the exchange id of its response."""
        return self._insert(
            (None, "in", at.isoformat(), None, peer, *self._message_columns(message), None,
             size, tpdu.hex if tpdu else None, header.hex if header else None,
             json.dumps(redact(message), ensure_ascii=False), note),
            own_exchange=True,
        )  # fmt: skip

    def record_out(
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
    ) -> int:
        """Record a response to exchange ``exchange``, with the time the host took."""
        return self._insert(
            (exchange, "out", at.isoformat(), round(duration_ms, 3), peer,
             *self._message_columns(message), group or None, size,
             tpdu.hex if tpdu else None, header.hex if header else None,
             json.dumps(redact(message), ensure_ascii=False), note),
            own_exchange=False,
        )  # fmt: skip

    def record_broken(
        self,
        *,
        peer: str,
        at: datetime,
        size: int,
        error: str,
        mti: str | None = None,
        tpdu: Tpdu | None = None,
        header: Header | None = None,
    ) -> int:
        """Record a frame that could not be read (the error names field and offset only)."""
        return self._insert(
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
