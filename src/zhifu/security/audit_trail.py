"""The audit trail: append-only records chained with HMAC-SM3, signed checkpoints, a verifier.

Every privileged action and money-moving decision is one record: who (``actor``), what
(``action``), on what (``object``), from where (``origin``), with what ``outcome``, when, and
a ``detail``. Record *n* carries ``mac_n = HMAC-SM3(K, mac_{n-1} ‖ canonical(record_n))``
(``mac_0`` all zero) under a MAC key ``K`` kept in the security module — the database holds the
MACs, never the key. A *head* row (the last sequence number and MAC, MACed too) shows a cut
tail; every :data:`CHECKPOINT_EVERY` records (and on :meth:`AuditTrail.checkpoint`) the
module signs (SM2) the sequence number and MAC of the record reached.

:meth:`AuditTrail.verify` walks the records in order and names the first bad one: a missing
sequence number (a row deleted), a MAC that does not follow (a row edited, or rows reordered),
a head that does not match (the tail cut or the head forged), a checkpoint whose signature or
MAC does not hold. Recomputing the chain without ``K`` cannot produce MACs that verify.

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> trail = AuditTrail.open(":memory:", SoftHsm(KeyStore.in_memory()))
>>> trail.append("operator:li", "terminal.register", "10000001", "ok").seq
1
>>> trail.verify().ok
True
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.store import KeyStore

__all__ = ["CHECKPOINT_EVERY", "AuditRecord", "AuditTrail", "Verdict"]

CHECKPOINT_EVERY: Final = 100
CHAIN_LABEL, SIGNING_LABEL = "audit chain", "audit checkpoint"
_ZERO: Final = bytes(32)
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    object TEXT NOT NULL, origin TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,
    mac BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL, mac BLOB NOT NULL, tag BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (seq INTEGER PRIMARY KEY, at TEXT NOT NULL,
    mac BLOB NOT NULL, signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_sources (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One record (``mac`` hex for display)."""

    seq: int
    at: str
    actor: str
    action: str
    object: str
    origin: str
    outcome: str
    detail: str
    mac: str

    def canonical(self) -> bytes:
        """What the chain MACs: every field but the MAC, as sorted-key JSON."""
        fields = {k: getattr(self, k) for k in ("seq", "at", "actor", "action", "object",
                                                 "origin", "outcome", "detail")}  # fmt: skip
        return json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verifier's answer: ``first_bad`` is the first record found wrong (None when ok)."""

    ok: bool
    records: int
    first_bad: int | None = None
    reason: str = ""


def _key(hsm: SoftHsm, label: str, usage: KeyUsage, algorithm: KeyAlgorithm) -> KeyHandle:
    found = [i.handle for i in hsm.list_keys() if i.label == label and i.usage is usage]
    return found[-1] if found else hsm.generate_key(usage, algorithm, label=label)


class AuditTrail:
    """An append-only audit trail in an SQLite file (see the module docstring)."""

    def __init__(self, db: sqlite3.Connection, hsm: SoftHsm, chain: KeyHandle,
                 signer: KeyHandle) -> None:  # fmt: skip
        self.db, self.hsm, self.chain, self.signer = db, hsm, chain, signer

    @classmethod
    def open(cls, path: str | Path, hsm: SoftHsm) -> AuditTrail:
        """The trail in ``path`` with its keys from ``hsm`` (made on first use, by label); a new
        file is readable by its owner only."""
        if str(path) != ":memory:":
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.executescript(SCHEMA)
        chain = _key(hsm, CHAIN_LABEL, KeyUsage.MAC, KeyAlgorithm.SM4)
        signer = _key(hsm, SIGNING_LABEL, KeyUsage.SIGNING, KeyAlgorithm.SM2)
        return cls(db, hsm, chain, signer)

    def close(self) -> None:
        self.db.close()

    def _mac(self, previous: bytes, record: AuditRecord) -> bytes:
        return self.hsm.generate_hmac_sm3(self.chain, previous + record.canonical())

    def _head_tag(self, seq: int, mac: bytes) -> bytes:
        return self.hsm.generate_hmac_sm3(self.chain, b"head" + seq.to_bytes(8, "big") + mac)

    def append(
        self, actor: str, action: str, obj: str, outcome: str, *, origin: str = "",
        detail: str = "", at: datetime | None = None,
    ) -> AuditRecord:  # fmt: skip
        """Add a record at the end of the chain; the record with its MAC."""
        when = (at or datetime.now(UTC)).isoformat(timespec="microseconds")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT seq, mac FROM audit_head").fetchone()
            seq, previous = (row[0] + 1, bytes(row[1])) if row else (1, _ZERO)
            draft = AuditRecord(seq, when, actor, action, obj, origin, outcome, detail, "")
            mac = self._mac(previous, draft)
            values = (seq, when, actor, action, obj, origin, outcome, detail, mac)
            self.db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?)", values)
            self.db.execute("INSERT OR REPLACE INTO audit_head VALUES (1, ?, ?, ?)",
                            (seq, mac, self._head_tag(seq, mac)))  # fmt: skip
            if seq % CHECKPOINT_EVERY == 0:
                self._sign(seq, mac, when)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return AuditRecord(seq, when, actor, action, obj, origin, outcome, detail, mac.hex())

    def absorb_key_store(self, store: KeyStore) -> int:
        """Chain the security module's own audit lines (key made, formed, imported, deleted...)
        not chained yet, as records of actor ``security-module``; how many were added."""
        row = self.db.execute("SELECT last FROM audit_sources WHERE name = 'key store'").fetchone()
        last = row[0] if row else 0
        fresh = [line for line in store.audit_trail() if line.seq > last]
        for line in fresh:
            when = line.at.astimezone(UTC)
            self.append("security-module", f"key.{line.event}", line.handle or "-", "ok",
                        origin="key store", detail=line.detail, at=when)  # fmt: skip
        if fresh:
            self.db.execute("INSERT OR REPLACE INTO audit_sources VALUES ('key store', ?)",
                            (fresh[-1].seq,))  # fmt: skip
        return len(fresh)

    def _sign(self, seq: int, mac: bytes, when: str) -> None:
        signature = self.hsm.sign(self.signer, seq.to_bytes(8, "big") + mac)
        self.db.execute("INSERT OR REPLACE INTO audit_checkpoints VALUES (?,?,?,?)",
                        (seq, when, mac, signature))  # fmt: skip

    def checkpoint(self) -> int:
        """Sign the record reached now; its sequence number (0 when the trail is empty)."""
        row = self.db.execute("SELECT seq, mac FROM audit_head").fetchone()
        if not row:
            return 0
        self._sign(row[0], bytes(row[1]), datetime.now(UTC).isoformat(timespec="microseconds"))
        return int(row[0])

    def records(self) -> list[AuditRecord]:
        """Every record in order."""
        rows = self.db.execute("SELECT * FROM audit ORDER BY rowid").fetchall()
        return [
            AuditRecord(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], bytes(r[8]).hex())
            for r in rows
        ]

    def verify(self) -> Verdict:
        """Walk the chain, the head and the checkpoints (see the module docstring)."""
        records = self.records()
        last = len(records)
        macs: dict[int, bytes] = {}
        problem = self._walk(records, macs) or self._head(last, macs) or self._checkpoints(macs)
        if problem is None:
            return Verdict(True, last)
        first_bad, reason = problem
        return Verdict(False, last, first_bad, reason)

    def _walk(self, records: list[AuditRecord], macs: dict[int, bytes]) -> tuple[int, str] | None:
        previous = _ZERO
        for expected, record in enumerate(records, start=1):
            if record.seq != expected:
                return expected, f"record {expected} is missing or out of order"
            mac = self._mac(previous, record)
            if mac.hex() != record.mac:
                return record.seq, f"record {record.seq} was changed (its MAC does not follow)"
            previous = macs[record.seq] = mac
        return None

    def _head(self, last: int, macs: dict[int, bytes]) -> tuple[int, str] | None:
        head = self.db.execute("SELECT seq, mac, tag FROM audit_head").fetchone()
        if head is None:
            return (last, "the head is missing") if last else None
        seq, mac, tag = int(head[0]), bytes(head[1]), bytes(head[2])
        if tag != self._head_tag(seq, mac):
            return last + 1, "the head was forged"
        if seq != last or macs.get(seq) != mac:
            return last + 1, f"the tail was cut after record {last}"
        return None

    def _checkpoints(self, macs: dict[int, bytes]) -> tuple[int, str] | None:
        rows = self.db.execute("SELECT seq, mac, signature FROM audit_checkpoints ORDER BY seq")
        for seq, mac, signature in rows.fetchall():
            signed = seq.to_bytes(8, "big") + bytes(mac)
            good = self.hsm.verify_signature(self.signer, signed, bytes(signature))
            if not good or macs.get(seq) != bytes(mac):
                return seq, f"checkpoint at record {seq} does not hold"
        return None
