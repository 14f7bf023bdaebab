"""Replay guards kept in the platform database: spent payment codes, request nonces and
idempotency keys.

- :class:`SqliteUsedCodes` is the issuers'
  :class:`~zhifu.barcode.codes.payment_store.UsedCodeStore`: ``claim`` is one ``INSERT OR
  IGNORE``, so exactly one caller wins a code, across threads and processes; rows past their
  TTL are purged now and then.
- :class:`Nonces` remembers each signer's nonces for twice the timestamp window, so a request
  replayed within its window (or one second before its end) is refused.
- :class:`Idempotency` keeps, per caller and ``Idempotency-Key``, a fingerprint of the request
  (SM3 over method, path and body) and, once answered, the response: the same key with the same
  request gets the stored response, with another request ``MISMATCH`` (422), while the first is
  still running ``IN_FLIGHT`` (409). The in-flight mark is a lease of
  :data:`IN_FLIGHT_LEASE_SECONDS`: a key left unanswered longer (its process stopped) is taken
  over by the next request with the same body, which runs it again (the flows are idempotent
  underneath: ledger ids derive from the payment ids). The rows are shared by every process
  serving the same database; each :class:`Idempotency` writes its own ``owner``
  (``<pid>-<random>``), so that a process starting after a crash releases at once the keys of
  processes no longer running (:meth:`Idempotency.release_orphans`), and a micropay whose order
  is over takes its key over whoever held it
  (:class:`~zhifu.barcode.platform.requests.Payment`).

>>> from zhifu.barcode.platform.db import Database
>>> idem = Idempotency(Database())
>>> fp = fingerprint("POST", "/v1/micropay", b"{}")
>>> idem.begin("merchant:M1", "k1", fp).state, idem.begin("merchant:M1", "k1", fp).state
(<IdemState.NEW: 'new'>, <IdemState.IN_FLIGHT: 'in_flight'>)
>>> idem.complete("merchant:M1", "k1", 200, b'{"ok":true}')
>>> idem.begin("merchant:M1", "k1", fp).body
b'{"ok":true}'
>>> idem.begin("merchant:M1", "k1", fingerprint("POST", "/v1/micropay", b"[]")).state
<IdemState.MISMATCH: 'mismatch'>
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from zhifu.barcode.api.signing import WINDOW_SECONDS
from zhifu.barcode.platform.db import Database, to_us
from zhifu.core.clock import Clock, SystemClock
from zhifu.crypto.hashes import sm3

PURGE_EVERY: Final = 2_000
IN_FLIGHT_LEASE_SECONDS: Final = 30


class SqliteUsedCodes:
    """Spent payment codes (see the module docstring)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self._clock = clock or SystemClock()
        self._claims = 0

    def claim(self, key: str, keep_until: datetime) -> bool:
        self._claims += 1
        purge = to_us(self._clock.now()) if self._claims % PURGE_EVERY == 0 else None

        def unit(cur: sqlite3.Cursor) -> bool:
            if purge is not None:
                cur.execute("DELETE FROM used_codes WHERE keep_until_us < ?", (purge,))
            cur.execute(
                "INSERT OR IGNORE INTO used_codes (key, keep_until_us) VALUES (?, ?)",
                (key, to_us(keep_until)),
            )
            return cur.rowcount == 1

        return self.db.run(unit, savepoint=False)  # each statement stands on its own

    def is_used(self, key: str) -> bool:
        return self.db.one("SELECT 1 FROM used_codes WHERE key = ?", (key,)) is not None


class Nonces:
    """Nonces seen per key id, kept for twice the timestamp window."""

    def __init__(self, db: Database, window_seconds: int = WINDOW_SECONDS) -> None:
        self.db = db
        self.keep_us = 2 * window_seconds * 1_000_000
        self._claims = 0

    def claim(self, key_id: str, nonce: str, now_us: int) -> bool:
        """True the first time (key_id, nonce) is seen."""
        return self.db.run(lambda cur: self.claim_in(cur, key_id, nonce, now_us))

    def claim_in(self, cur: sqlite3.Cursor, key_id: str, nonce: str, now_us: int) -> bool:
        """:meth:`claim` inside the caller's transaction."""
        self._claims += 1
        if self._claims % PURGE_EVERY == 0:
            cur.execute("DELETE FROM nonces WHERE seen_us < ?", (now_us - self.keep_us,))
        cur.execute(
            "INSERT OR IGNORE INTO nonces (key_id, nonce, seen_us) VALUES (?, ?, ?)",
            (key_id, nonce, now_us),
        )
        return cur.rowcount == 1


class IdemState(StrEnum):
    NEW = "new"  # run the request, then complete() or release()
    REPLAY = "replay"  # answer the stored response
    MISMATCH = "mismatch"  # same key, another request: 422
    IN_FLIGHT = "in_flight"  # same key, still running: 409


@dataclass(frozen=True, slots=True)
class IdemAnswer:
    state: IdemState
    status: int | None = None
    body: bytes | None = None


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """SM3 over the method, the path and the body: what makes two requests "the same"."""
    return sm3(f"{method.upper()}\n{path}\n".encode() + bytes(body))


class Idempotency:
    """Idempotency keys and stored responses (see the module docstring)."""

    def __init__(
        self, db: Database, clock: Clock | None = None, lease_seconds: int = IN_FLIGHT_LEASE_SECONDS
    ) -> None:
        self.db = db
        self._clock = clock or SystemClock()
        self.lease_us = lease_seconds * 1_000_000
        self.owner = f"{os.getpid()}-{os.urandom(6).hex()}"  # who holds the lease

    def begin(self, scope: str, key: str, print_: bytes) -> IdemAnswer:
        """Record the key as in flight, or say what to answer instead."""
        return self.db.run(lambda cur: self.begin_in(cur, scope, key, print_))

    def begin_in(self, cur: sqlite3.Cursor, scope: str, key: str, print_: bytes) -> IdemAnswer:
        """:meth:`begin` inside the caller's transaction."""
        now = to_us(self._clock.now())
        cur.execute(
            "INSERT OR IGNORE INTO idempotency (scope, key, fingerprint, owner, created_us)"
            " VALUES (?, ?, ?, ?, ?)",
            (scope, key, print_, self.owner, now),
        )
        if cur.rowcount == 1:  # the usual case: a key never seen
            return IdemAnswer(IdemState.NEW)
        stored, status, body, since = cur.execute(
            "SELECT fingerprint, status, body, created_us FROM idempotency"
            " WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if bytes(stored) != print_:
            return IdemAnswer(IdemState.MISMATCH)
        if status is not None:
            return IdemAnswer(IdemState.REPLAY, int(status), bytes(body))
        if now - since < self.lease_us:
            return IdemAnswer(IdemState.IN_FLIGHT)
        cur.execute(
            "UPDATE idempotency SET owner = ?, created_us = ? WHERE scope = ? AND key = ?",
            (self.owner, now, scope, key),
        )
        return IdemAnswer(IdemState.NEW)

    def take_over_in(self, cur: sqlite3.Cursor, scope: str, key: str) -> None:
        """Hold an unanswered key whose holder is gone (see :meth:`release_orphans`)."""
        cur.execute(
            "UPDATE idempotency SET owner = ?, created_us = ? WHERE scope = ? AND key = ?",
            (self.owner, to_us(self._clock.now()), scope, key),
        )

    def release_orphans(self) -> int:
        """Forget the unanswered keys held by processes of this host that are no longer
        running (killed half-way): a retry runs again at once instead of waiting for the
        lease. Called at start; the number released."""

        def unit(cur: sqlite3.Cursor) -> int:
            rows = cur.execute(
                "SELECT DISTINCT owner FROM idempotency WHERE status IS NULL"
            ).fetchall()
            gone = [owner for (owner,) in rows if owner != self.owner and _gone(owner)]
            released = 0
            for owner in gone:
                cur.execute("DELETE FROM idempotency WHERE owner = ? AND status IS NULL", (owner,))
                released += cur.rowcount
            return released

        return self.db.run(unit)

    def complete(self, scope: str, key: str, status: int, body: bytes) -> None:
        """Store the response of a request that was NEW."""
        self.db.run(lambda cur: self.complete_in(cur, scope, key, status, body))

    @staticmethod
    def complete_in(cur: sqlite3.Cursor, scope: str, key: str, status: int, body: bytes) -> None:
        """:meth:`complete` inside the caller's transaction."""
        cur.execute(
            "UPDATE idempotency SET status = ?, body = ? WHERE scope = ? AND key = ?",
            (status, body, scope, key),
        )

    def release(self, scope: str, key: str) -> None:
        """Forget an unanswered key (after a server error) so that a retry runs again."""
        self.db.run(lambda cur: self.release_in(cur, scope, key))

    @staticmethod
    def release_in(cur: sqlite3.Cursor, scope: str, key: str) -> None:
        """:meth:`release` inside the caller's transaction."""
        cur.execute(
            "DELETE FROM idempotency WHERE scope = ? AND key = ? AND status IS NULL", (scope, key)
        )


def _gone(owner: str) -> bool:
    """Whether the process that wrote ``owner`` (``<pid>-<random>``) has ended; a process
    still running, or an owner of another shape, is not gone."""
    pid, _, _ = owner.partition("-")
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # running, under another user
        return False
    return False
