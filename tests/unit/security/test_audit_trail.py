"""The audit trail: a deleted, edited, reordered or cut record is named; a chain recomputed
without the key fails; checkpoints are signed and checked."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from zhifu.crypto.hashes import Hash, hmac
from zhifu.security.audit_trail import CHECKPOINT_EVERY, AuditRecord, AuditTrail
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore

COUNT = 250


@pytest.fixture
def trail(tmp_path: Path) -> AuditTrail:
    found = AuditTrail.open(tmp_path / "audit.db", SoftHsm(KeyStore.in_memory()))
    for n in range(1, COUNT + 1):
        found.append(f"operator:{n % 3}", "card.status", f"card-{n}", "ok", origin="127.0.0.1",
                     detail=f"lost {n}")  # fmt: skip
    return found


def raw(trail: AuditTrail, sql: str, *args: object) -> None:
    trail.db.execute(sql, args)


def test_an_untouched_trail_verifies(trail: AuditTrail) -> None:
    verdict = trail.verify()
    assert verdict.ok and verdict.records == COUNT
    checkpoints = trail.db.execute("SELECT seq FROM audit_checkpoints").fetchall()
    assert [r[0] for r in checkpoints] == list(range(CHECKPOINT_EVERY, COUNT + 1, CHECKPOINT_EVERY))
    assert trail.checkpoint() == COUNT and trail.verify().ok


def _swap(trail: AuditTrail) -> None:
    """Records 10 and 11 trade places (each keeps its own content and MAC)."""
    a = trail.db.execute("SELECT * FROM audit WHERE seq = 10").fetchone()
    b = trail.db.execute("SELECT * FROM audit WHERE seq = 11").fetchone()
    raw(trail, "DELETE FROM audit WHERE seq IN (10, 11)")
    raw(trail, "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?)", 10, *b[1:])
    raw(trail, "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?)", 11, *a[1:])


@pytest.mark.parametrize(
    ("tamper", "first_bad", "says"),
    [
        (lambda t: raw(t, "DELETE FROM audit WHERE seq = 57"), 57, "missing"),
        (lambda t: raw(t, "UPDATE audit SET detail = 'found' WHERE seq = 120"), 120, "changed"),
        (lambda t: raw(t, "UPDATE audit SET outcome = 'denied' WHERE seq = 1"), 1, "changed"),
        (_swap, 10, "changed"),
        (
            lambda t: raw(t, "DELETE FROM audit WHERE seq > 239"),
            240,
            "tail was cut after 239" if False else "tail was cut after record 239",
        ),
        (lambda t: raw(t, "DELETE FROM audit_head"), COUNT, "head is missing"),
        (
            lambda t: raw(
                t, "UPDATE audit_checkpoints SET signature = zeroblob(64) WHERE seq = 100"
            ),
            100,
            "checkpoint at record 100",
        ),
    ],
)
def test_tampering_is_found_at_the_first_bad_record(
    trail: AuditTrail, tamper: Callable[[AuditTrail], None], first_bad: int, says: str
) -> None:
    tamper(trail)
    verdict = trail.verify()
    assert not verdict.ok and verdict.first_bad == first_bad and says in verdict.reason


def test_a_chain_recomputed_without_the_key_fails(trail: AuditTrail) -> None:
    guess = secrets.token_bytes(16)  # the forger's key: not the module's
    previous = bytes(32)
    for record in trail.records():
        changed = AuditRecord(record.seq, record.at, record.actor, record.action, record.object,
                              record.origin, "forged", record.detail, "")  # fmt: skip
        mac = hmac(Hash.SM3, guess, previous + changed.canonical())
        raw(trail, "UPDATE audit SET outcome = 'forged', mac = ? WHERE seq = ?", mac, record.seq)
        previous = mac
    tag = hmac(Hash.SM3, guess, b"head" + COUNT.to_bytes(8, "big") + previous)
    raw(trail, "UPDATE audit_head SET mac = ?, tag = ?", previous, tag)
    verdict = trail.verify()
    assert not verdict.ok and verdict.first_bad == 1


def test_the_file_holds_no_key(trail: AuditTrail, tmp_path: Path) -> None:
    trail.close()
    with sqlite3.connect(tmp_path / "audit.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"audit", "audit_head", "audit_checkpoints", "audit_sources"}


def test_the_security_modules_own_lines_join_the_chain() -> None:
    store = KeyStore.in_memory()
    hsm = SoftHsm(store)
    trail = AuditTrail.open(":memory:", hsm)
    made = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.SM4, label="a key")
    hsm.delete_key(made)
    added = trail.absorb_key_store(store)
    assert added == len(store.audit_trail()) >= 4  # the trail's own two keys, made, deleted
    records = [r for r in trail.records() if r.actor == "security-module"]
    assert ("key.delete", made.id) in {(r.action, r.object) for r in records}
    assert trail.absorb_key_store(store) == 0  # each line once
    hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.SM4)
    assert trail.absorb_key_store(store) == 1
    assert trail.verify().ok
