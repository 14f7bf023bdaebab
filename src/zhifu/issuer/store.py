"""The issuer's database: card records, answers, reversals and advices (SQLite, one file).

No clear PAN, PIN, PIN block, track data or key is ever written: a card is found by the keyed
hash of its PAN (``pan_key``), its PAN is kept sealed with SM4-GCM under a versioned data key
of the security module (``pan_enc``, :mod:`zhifu.security.protect`) and masked (first 6 + last
4); its expiry is sealed too (``expiry_enc``).
The PIN verification value is kept, never the PIN.

>>> store = IssuerStore(":memory:")
>>> store.card("nope") is None
True
>>> store.close()
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zhifu.core.files import private_sqlite

__all__ = ["Answer", "CardRecord", "IssuerStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    pan_key TEXT PRIMARY KEY, pan_enc TEXT NOT NULL, masked TEXT NOT NULL, psn TEXT NOT NULL,
    expiry_enc TEXT NOT NULL, service_code TEXT NOT NULL, status TEXT NOT NULL,
    product TEXT NOT NULL, account TEXT NOT NULL, ecash_account TEXT NOT NULL,
    credit_limit INTEGER NOT NULL,
    pvv TEXT NOT NULL, pin_failures INTEGER NOT NULL, last_atc INTEGER NOT NULL,
    created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, pan_key TEXT NOT NULL, amount INTEGER NOT NULL,
    original_id TEXT, field_39 TEXT NOT NULL, auth_code TEXT NOT NULL, reason TEXT NOT NULL,
    refunded INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reversals (
    original_id TEXT PRIMARY KEY, found INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS offline_tcs (
    pan_key TEXT NOT NULL, atc INTEGER NOT NULL, id TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (pan_key, atc));
CREATE TABLE IF NOT EXISTS advices (
    id TEXT NOT NULL, script_result TEXT NOT NULL, created TEXT NOT NULL);
"""

_CARD_COLUMNS = (
    "pan_key, pan_enc, masked, psn, expiry_enc, service_code, status, product, account, "
    "ecash_account, credit_limit, pvv, pin_failures, last_atc"
)


@dataclasses.dataclass(frozen=True, repr=False)
class CardRecord:
    """One card as the issuer keeps it (no clear PAN)."""

    pan_key: str
    pan_enc: str
    masked: str
    psn: str
    expiry_enc: str
    service_code: str
    status: str
    product: str
    account: int
    ecash_account: int
    credit_limit: int
    pvv: bytes
    pin_failures: int
    last_atc: int

    def __repr__(self) -> str:
        return f"CardRecord({self.masked}, {self.product}, {self.status})"


@dataclasses.dataclass(frozen=True)
class Answer:
    """A recorded answer (approved or declined) of one transaction id."""

    id: str
    kind: str
    pan_key: str
    amount: int
    original_id: str | None
    field_39: str
    auth_code: str
    reason: str
    refunded: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class IssuerStore:
    """The database: one connection shared under a lock, short transactions."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a process crash loses nothing (WAL); a power cut may lose the last
            # answers, which the ledger's postings and the ATC rule make good (docs/issuer.md)
            self._db.execute("PRAGMA synchronous=NORMAL")
            private_sqlite(path)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """One ``BEGIN IMMEDIATE`` transaction."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._db.execute(sql, args).fetchone()
            return row

    def add_card(self, card: CardRecord) -> None:
        """Insert a new card record."""
        with self.transaction() as cur:
            cur.execute(
                f"INSERT INTO cards ({_CARD_COLUMNS}, created) VALUES "  # noqa: S608 - fixed columns
                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (card.pan_key, card.pan_enc, card.masked, card.psn, card.expiry_enc,
                 card.service_code, card.status, card.product, f"{card.account:x}",
                 f"{card.ecash_account:x}", card.credit_limit, card.pvv.hex(),
                 card.pin_failures, card.last_atc, _now()),
            )  # fmt: skip

    def card(self, pan_key: str) -> CardRecord | None:
        """The card with this PAN key, or None."""
        sql = f"SELECT {_CARD_COLUMNS} FROM cards WHERE pan_key = ?"  # noqa: S608 - fixed columns
        row = self._one(sql, (pan_key,))
        if row is None:
            return None
        values = list(row)
        values[8], values[9] = int(values[8], 16), int(values[9], 16)
        values[11] = bytes.fromhex(values[11])
        return CardRecord(*values)

    def cards(self) -> list[CardRecord]:
        """Every card, oldest first."""
        with self._lock:
            keys = [r[0] for r in self._db.execute("SELECT pan_key FROM cards ORDER BY created")]
        return [card for key in keys if (card := self.card(key)) is not None]

    def set_status(self, pan_key: str, status: str) -> None:
        """Change a card's status (active, lost, stolen, blocked)."""
        with self.transaction() as cur:
            cur.execute("UPDATE cards SET status = ? WHERE pan_key = ?", (status, pan_key))

    def set_sealed(self, pan_key: str, pan_enc: str, expiry_enc: str) -> None:
        """Replace a card's sealed PAN and expiry (after a data-key rotation)."""
        with self.transaction() as cur:
            cur.execute("UPDATE cards SET pan_enc = ?, expiry_enc = ? WHERE pan_key = ?",
                        (pan_enc, expiry_enc, pan_key))  # fmt: skip

    def set_pin_failures(self, pan_key: str, failures: int) -> None:
        """Record the PIN try counter."""
        with self.transaction() as cur:
            cur.execute("UPDATE cards SET pin_failures = ? WHERE pan_key = ?", (failures, pan_key))

    def set_last_atc(self, pan_key: str, atc: int) -> None:
        """Advance the ATC high-water mark (never lowers it)."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE cards SET last_atc = MAX(last_atc, ?) WHERE pan_key = ?", (atc, pan_key)
            )

    def record(
        self, answer: Answer, *, atc: int | None = None, pin_failures: int | None = None,
        offline_atc: int | None = None,
    ) -> bool:  # fmt: skip
        """Store an answer (first one wins), with the card's new ATC mark and PIN counter, and
        the ATC of an offline TC it took (``offline_atc``: never taken twice). False when an
        answer to this id was stored first (by another process deciding the same request)."""
        with self.transaction() as cur:
            if offline_atc is not None:
                cur.execute(
                    "INSERT OR IGNORE INTO offline_tcs (pan_key, atc, id, created)"
                    " VALUES (?,?,?,?)",
                    (answer.pan_key, offline_atc, answer.id, _now()),
                )
            cur.execute(
                "INSERT OR IGNORE INTO answers (id, kind, pan_key, amount, original_id, field_39,"
                " auth_code, reason, refunded, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (answer.id, answer.kind, answer.pan_key, answer.amount, answer.original_id,
                 answer.field_39, answer.auth_code, answer.reason, answer.refunded, _now()),
            )  # fmt: skip
            if cur.rowcount != 1:
                return False
            if atc is not None:
                cur.execute(
                    "UPDATE cards SET last_atc = MAX(last_atc, ?) WHERE pan_key = ?",
                    (atc, answer.pan_key),
                )
            if pin_failures is not None:
                cur.execute(
                    "UPDATE cards SET pin_failures = ? WHERE pan_key = ?",
                    (pin_failures, answer.pan_key),
                )
        return True

    def offline_tc(self, pan_key: str, atc: int) -> str | None:
        """The transaction that took the card's offline TC of ``atc``, or None."""
        row = self._one("SELECT id FROM offline_tcs WHERE pan_key = ? AND atc = ?", (pan_key, atc))
        return None if row is None else str(row[0])

    def answer(self, transaction_id: str) -> Answer | None:
        """The recorded answer of a transaction id, or None."""
        row = self._one(
            "SELECT id, kind, pan_key, amount, original_id, field_39, auth_code, reason, refunded"
            " FROM answers WHERE id = ?",
            (transaction_id,),
        )
        return None if row is None else Answer(*row)

    def add_refunded(self, transaction_id: str, amount: int) -> None:
        """Count ``amount`` as refunded against an original."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE answers SET refunded = refunded + ? WHERE id = ?", (amount, transaction_id)
            )

    def reversal(self, original_id: str) -> bool | None:
        """None when no reversal was seen; else whether it found an approved original."""
        row = self._one("SELECT found FROM reversals WHERE original_id = ?", (original_id,))
        return None if row is None else bool(row[0])

    def record_reversal(self, original_id: str, found: bool) -> bool:
        """Record a reversal; False when one was recorded already."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO reversals (original_id, found, created) VALUES (?,?,?)",
                (original_id, int(found), _now()),
            )
            return cur.rowcount == 1

    def record_advice(self, transaction_id: str, script_result: str) -> None:
        """Keep a script result (DF31) or offline TC advice."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO advices (id, script_result, created) VALUES (?,?,?)",
                (transaction_id, script_result, _now()),
            )
