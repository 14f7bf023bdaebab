"""The acquirer's record of card transactions: answers, reversals and settled batches.

Rows live in the acquirer database (SQLite). An answer row keeps what the response carried
beyond the request's own fields (37, 38, 39, 54, 55 ...): never a PAN, track, PIN block or
key; the PAN only masked. The digest that tells a retransmission from a reuse of the id covers
the non-secret fields (3, 4, 11, 22, 25, 41, 42, 49, 60, 61).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from datetime import datetime
from typing import Final

from zhifu.acquirer.database import Database
from zhifu.iso8583.message import Message

__all__ = ["CardTxn", "PaymentStore", "digest_of"]

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS card_txns (
    id TEXT PRIMARY KEY, terminal TEXT NOT NULL, merchant TEXT NOT NULL, batch TEXT NOT NULL,
    stan TEXT NOT NULL, kind TEXT NOT NULL, amount INTEGER NOT NULL, digest TEXT NOT NULL,
    field_39 TEXT NOT NULL, answer TEXT NOT NULL, original_id TEXT, masked_pan TEXT NOT NULL,
    day TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS card_txns_batch ON card_txns (terminal, batch);
CREATE INDEX IF NOT EXISTS card_txns_created ON card_txns (created, field_39, kind, amount);
CREATE TABLE IF NOT EXISTS card_in_doubt (
    id TEXT PRIMARY KEY, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS card_reversals (
    id TEXT PRIMARY KEY, field_39 TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS card_batches (
    terminal TEXT NOT NULL, batch TEXT NOT NULL, merchant TEXT NOT NULL, balanced INTEGER NOT NULL,
    net INTEGER NOT NULL, fee INTEGER NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (terminal, batch));
"""
_DIGEST_FIELDS: Final = ("3", "4", "11", "22", "25", "41", "42", "49", "60", "61")


def digest_of(kind: str, request: Message) -> str:
    """The digest of a request's non-secret content (a retransmission has the same)."""
    parts = [kind] + [f"{n}={request.get(n) or ''}" for n in _DIGEST_FIELDS]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclasses.dataclass(frozen=True)
class CardTxn:
    """One answered card transaction."""

    id: str
    terminal: str
    merchant: str
    batch: str
    stan: str
    kind: str
    amount: int
    digest: str
    field_39: str
    answer: dict[str, str]
    original_id: str | None
    masked_pan: str
    day: str


_COLUMNS: Final = (
    "id, terminal, merchant, batch, stan, kind, amount, digest, field_39, answer, original_id, "
    "masked_pan, day"
)


class PaymentStore:
    """Card transaction rows in the acquirer database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(SCHEMA)
        self._locks = [threading.Lock() for _ in range(64)]

    def lock_for(self, txn_id: str) -> threading.Lock:
        """The lock that serialises a transaction and its reversal in this process (a 0400
        may arrive on another connection while its original is still being answered)."""
        return self._locks[hash(txn_id) % len(self._locks)]

    def get(self, txn_id: str) -> CardTxn | None:
        """The answered transaction ``txn_id``, or None."""
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM card_txns WHERE id = ?", (txn_id,))  # noqa: S608
        return None if row is None else _txn(row)

    def in_doubt(self, txn_id: str, now: datetime) -> None:
        """Mark a transaction as asked of the issuer and not yet answered (cleared by
        :meth:`record`); what a crash leaves marked is reversed at the next start."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO card_in_doubt (id, created) VALUES (?, ?)",
                (txn_id, now.isoformat()),
            )

    def left_in_doubt(self) -> list[str]:
        """The transactions a crash cut off between the issuer's answer and the record."""
        return [str(row[0]) for row in self.db.query("SELECT id FROM card_in_doubt ORDER BY id")]

    def clear_doubt(self, txn_id: str) -> None:
        """Forget an in-doubt mark (after the transaction was reversed)."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM card_in_doubt WHERE id = ?", (txn_id,))

    def record(self, txn: CardTxn, now: datetime) -> None:
        """Keep an answer (the first one for an id wins) and clear its in-doubt mark."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM card_in_doubt WHERE id = ?", (txn.id,))
            cur.execute(
                f"INSERT OR IGNORE INTO card_txns ({_COLUMNS}, created) "  # noqa: S608
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (txn.id, txn.terminal, txn.merchant, txn.batch, txn.stan, txn.kind, txn.amount,
                 txn.digest, txn.field_39, json.dumps(txn.answer, sort_keys=True),
                 txn.original_id, txn.masked_pan, txn.day, now.isoformat()),
            )  # fmt: skip

    def batch(self, terminal: str, batch: str) -> list[CardTxn]:
        """Every answered transaction of a terminal's batch."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM card_txns WHERE terminal = ? AND batch = ?",  # noqa: S608
            (terminal, batch),
        )
        return [_txn(row) for row in rows]

    def reversal(self, txn_id: str) -> str | None:
        """The field 39 a reversal of ``txn_id`` was answered with, or None."""
        row = self.db.query_one("SELECT field_39 FROM card_reversals WHERE id = ?", (txn_id,))
        return None if row is None else str(row[0])

    def reversed_ids(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` were reversed (answered 00)."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                f"SELECT id FROM card_reversals WHERE field_39 = '00' AND id IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update(str(r[0]) for r in rows)
        return found

    def record_reversal(self, txn_id: str, field_39: str, now: datetime) -> str:
        """Keep a reversal's answer; the answer recorded first (it may be an earlier one)."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO card_reversals (id, field_39, created) VALUES (?,?,?)",
                (txn_id, field_39, now.isoformat()),
            )
        return self.reversal(txn_id) or field_39

    def settled(self, terminal: str, batch: str) -> bool:
        """True when the batch was settled (merchant paid) already."""
        row = self.db.query_one(
            "SELECT 1 FROM card_batches WHERE terminal = ? AND batch = ?", (terminal, batch)
        )
        return row is not None

    def record_batch(self, terminal: str, batch: str, merchant: str, *, balanced: bool,
                     net: int, fee: int, now: datetime) -> None:  # fmt: skip
        """Keep a settled batch."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO card_batches VALUES (?,?,?,?,?,?,?)",
                (terminal, batch, merchant, int(balanced), net, fee, now.isoformat()),
            )


def _txn(row: tuple[object, ...]) -> CardTxn:
    values = list(row)
    values[9] = json.loads(str(values[9]))
    return CardTxn(*values)  # type: ignore[arg-type]
