"""The people of a zhifu installation: users, their sessions and API keys, in one SQLite file.

A user has a role (:data:`~zhifu.security.access.permissions.ROLES`), a scrypt password hash
and, for a privileged role, a TOTP secret kept sealed (AES-GCM under the local master key,
never in clear in the file). Signing in applies the
:class:`~zhifu.security.access.policy.SignInPolicy` (10 failures in a row lock the account for
30 minutes, a session idle 15 minutes ends); a wrong TOTP code counts as a failure and a code
is taken once. Session tokens and API key secrets are random; the file keeps their SHA-256
only. Every change and every sign-in is reported to ``audit(actor, action, object, outcome)``.

>>> from zhifu.security.access.totp import totp
>>> clock = [1_800_000_000.0]
>>> store = AccessStore.open(":memory:", sealer=None, now=lambda: clock[0])
>>> store.add_user("wang", "merchant", "correct horse battery", actor="setup") is None
True
>>> session = store.sign_in("wang", "correct horse battery")
>>> store.authenticate(session.token).role
'merchant'
>>> clock[0] += 900
>>> store.authenticate(session.token)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.security.access.errors.AccessError: session_expired: the session was idle 15 minutes...
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from zhifu.core.errors import UsageError
from zhifu.security.access.errors import AccessError
from zhifu.security.access.passwords import hash_password, verify_password
from zhifu.security.access.permissions import PERMISSIONS, ROLES, Principal
from zhifu.security.access.policy import SignInPolicy, SignInState
from zhifu.security.access.totp import verify_totp

__all__ = ["AccessStore", "ApiKey", "Session"]

Audit = Callable[[str, str, str, str], object]
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL,
    password TEXT NOT NULL, totp BLOB, totp_step INTEGER NOT NULL DEFAULT -1,
    failures INTEGER NOT NULL DEFAULT 0, locked_until REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token_hash BLOB PRIMARY KEY, user TEXT NOT NULL,
    started REAL NOT NULL, last_seen REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL,
    owner TEXT NOT NULL, scopes TEXT NOT NULL, created_at REAL NOT NULL,
    created_by TEXT NOT NULL, revoked_at REAL);
"""
_TOTP_LABEL: Final = "zhifu-totp"
_DUMMY_HASH: Final = hash_password("no such user, compared to keep the timing")
KEY_PREFIX: Final = "zk_"


class Sealer(Protocol):
    """What seals the TOTP secrets (:class:`~zhifu.security.sealing.LmkSealer`)."""

    def seal(self, label: str, clear: bytes) -> bytes: ...
    def unseal(self, label: str, sealed: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session: the bearer token (shown once), the user and the role."""

    token: str
    user: str
    role: str

    def __repr__(self) -> str:
        return f"Session(token=<secret>, user={self.user!r}, role={self.role!r})"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's public part (the secret is shown once, when it is made)."""

    key_id: str
    owner: str
    scopes: tuple[str, ...]
    created_by: str
    revoked: bool


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class AccessStore:
    """Users, sessions and API keys (see the module docstring)."""

    def __init__(
        self, db: sqlite3.Connection, *, sealer: Sealer | None, now: Callable[[], float],
        audit: Audit | None, policy: SignInPolicy,
    ) -> None:  # fmt: skip
        self.db, self.sealer, self.now, self.policy = db, sealer, now, policy
        self.audit: Audit = audit or (lambda *_: None)

    @classmethod
    def open(
        cls, path: str | Path, *, sealer: Sealer | None, now: Callable[[], float] = time.time,
        audit: Audit | None = None, policy: SignInPolicy | None = None,
    ) -> AccessStore:  # fmt: skip
        """Open (or create) the store at ``path`` (``":memory:"`` for a test)."""
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.executescript(SCHEMA)
        return cls(db, sealer=sealer, now=now, audit=audit, policy=policy or SignInPolicy())

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    # -- users -------------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, *, actor: str) -> bytes | None:
        """Add a user; for a privileged role, the new TOTP secret (to enrol once), else None."""
        if role not in ROLES:
            raise UsageError(f"one of {', '.join(ROLES)}", argument="role")
        if not name or len(name) > 64 or not name.isprintable():
            raise UsageError("1 to 64 printable characters", argument="name")
        secret = secrets.token_bytes(20) if ROLES[role].privileged else None
        sealed = None
        if secret is not None:
            if self.sealer is None:
                raise UsageError("a privileged user needs the LMK (set ZHIFU_LMK)", argument="role")
            sealed = self.sealer.seal(_TOTP_LABEL, secret)
        try:
            self.db.execute(
                "INSERT INTO users (name, role, password, totp, created_at) VALUES (?,?,?,?,?)",
                (name, role, hash_password(password), sealed, self.now()),
            )
        except sqlite3.IntegrityError:
            raise UsageError("a user of that name exists", argument="name") from None
        self.audit(actor, "user.add", name, f"ok role={role}")
        return secret

    def users(self) -> list[dict[str, object]]:
        """Every user: name, role, whether locked now, failures in a row."""
        now = self.now()
        rows = self.db.execute("SELECT name, role, failures, locked_until FROM users ORDER BY name")
        return [{"name": n, "role": r, "failures": f, "locked": now < lu} for n, r, f, lu in rows]

    def unlock(self, name: str, *, actor: str) -> None:
        """Lift a lock (an administrator's action, audited)."""
        changed = self.db.execute(
            "UPDATE users SET failures = 0, locked_until = 0 WHERE name = ?", (name,)
        ).rowcount
        if not changed:
            raise UsageError("no user of that name", argument="name")
        self.audit(actor, "user.unlock", name, "ok")

    # -- sign-in -----------------------------------------------------------------------------

    def sign_in(self, name: str, password: str, code: str = "", *, origin: str = "") -> Session:
        """Check the password (and TOTP code for a privileged role); a new session."""
        now = self.now()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            session = self._sign_in(name, password, code, now)
            self.db.execute("COMMIT")
        except AccessError:
            self.db.execute("COMMIT")  # a refusal: the failures counted stay counted
            raise
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.audit(name, "session.start", name, f"ok from {origin}" if origin else "ok")
        return session

    def _sign_in(self, name: str, password: str, code: str, now: float) -> Session:
        row = self.db.execute(
            "SELECT role, password, totp, totp_step, failures, locked_until FROM users "
            "WHERE name = ?", (name,)
        ).fetchone()  # fmt: skip
        if row is None:
            verify_password(password, _DUMMY_HASH)
            self._refuse(name, "credentials_invalid")
        role, stored, sealed, last_step, failures, locked_until = row
        state = SignInState(failures=failures, locked_until=locked_until)
        if self.policy.locked(state, now=now):
            self._refuse(name, "account_locked")
        if not verify_password(password, stored):
            self._failed(name, state, now, "credentials_invalid")
        if sealed is not None:
            step = self._check_totp(name, sealed, code, last_step=last_step, state=state)
            self.db.execute("UPDATE users SET totp_step = ? WHERE name = ?", (step, name))
        self.db.execute("UPDATE users SET failures = 0, locked_until = 0 WHERE name = ?", (name,))
        token = secrets.token_urlsafe(32)
        self.db.execute("INSERT INTO sessions (token_hash, user, started, last_seen) "
                        "VALUES (?,?,?,?)", (_digest(token), name, now, now))  # fmt: skip
        return Session(token, name, role)

    def _check_totp(
        self, name: str, sealed: bytes, code: str, *, last_step: int, state: SignInState
    ) -> int:
        now = self.now()
        if not code:
            self._refuse(name, "totp_required")
        assert self.sealer is not None, (
            "a privileged user exists: the store was opened with a sealer"
        )
        secret = self.sealer.unseal(_TOTP_LABEL, sealed)
        step = verify_totp(secret, code, now, last_step=last_step)
        if step is None:
            self._failed(name, state, now, "totp_invalid")
        assert step is not None
        return step

    def _failed(self, name: str, state: SignInState, now: float, code: str) -> None:
        after = self.policy.failed(state, now=now)
        self.db.execute("UPDATE users SET failures = ?, locked_until = ? WHERE name = ?",
                        (after.failures, after.locked_until, name))  # fmt: skip
        if after.locked_until > state.locked_until:
            self.audit(name, "user.locked", name, f"locked after {self.policy.max_failures}")
        self._refuse(name, code)

    def _refuse(self, name: str, code: str) -> None:
        self.audit(name, "session.start", name, f"refused {code}")
        raise AccessError(code)

    # -- requests ----------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        """The principal of a bearer token (a session or an API key), or AccessError."""
        if token.startswith(KEY_PREFIX):
            return self._api_key(token)
        now = self.now()
        row = self.db.execute(
            "SELECT s.user, s.last_seen, s.ended, u.role FROM sessions s JOIN users u "
            "ON u.name = s.user WHERE s.token_hash = ?", (_digest(token),)
        ).fetchone()  # fmt: skip
        if row is None or row[2]:
            raise AccessError("unauthenticated")
        user, last_seen, _, role = row
        if not self.policy.active(SignInState(last_seen=last_seen), now=now):
            raise AccessError("session_expired")
        self.db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                        (now, _digest(token)))  # fmt: skip
        return Principal(user, role, "session")

    def principal(self, name: str) -> Principal:
        """The principal of a user by name (after another check proved who it is)."""
        row = self.db.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise AccessError("unauthenticated")
        return Principal(name, row[0], "session")

    def sign_out(self, token: str) -> None:
        """End a session (its token no longer works)."""
        self.db.execute("UPDATE sessions SET ended = 1 WHERE token_hash = ?", (_digest(token),))

    # -- API keys ----------------------------------------------------------------------------

    def create_api_key(self, owner: str, scopes: list[str], *, actor: str) -> tuple[ApiKey, str]:
        """A new key for a machine: its public part and the token (``zk_<id>_<secret>``)."""
        unknown = sorted(set(scopes) - set(PERMISSIONS))
        if unknown or not scopes:
            raise UsageError(f"permissions among {', '.join(PERMISSIONS)}", argument="scopes")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        self.db.execute("INSERT INTO api_keys VALUES (?,?,?,?,?,?,NULL)",
                        (key_id, _digest(secret), owner, json.dumps(sorted(scopes)), self.now(),
                         actor))  # fmt: skip
        self.audit(actor, "apikey.create", key_id, f"ok owner={owner} scopes={','.join(scopes)}")
        return ApiKey(key_id, owner, tuple(sorted(scopes)), actor, False), (
            f"{KEY_PREFIX}{key_id}_{secret}"
        )

    def api_keys(self) -> list[ApiKey]:
        """Every key's public part."""
        rows = self.db.execute("SELECT id, owner, scopes, created_by, revoked_at FROM api_keys "
                               "ORDER BY created_at")  # fmt: skip
        return [ApiKey(i, o, tuple(json.loads(s)), c, r is not None) for i, o, s, c, r in rows]

    def revoke_api_key(self, key_id: str, *, actor: str) -> None:
        """Revoke a key at once (audited)."""
        changed = self.db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND "
                                  "revoked_at IS NULL", (self.now(), key_id)).rowcount  # fmt: skip
        if not changed:
            raise UsageError("no live API key of that id", argument="key_id")
        self.audit(actor, "apikey.revoke", key_id, "ok")

    def _api_key(self, token: str) -> Principal:
        key_id, _, secret = token.removeprefix(KEY_PREFIX).partition("_")
        row = self.db.execute("SELECT secret_hash, owner, scopes, revoked_at FROM api_keys "
                              "WHERE id = ?", (key_id,)).fetchone()  # fmt: skip
        if row is None or not hmac.compare_digest(bytes(row[0]), _digest(secret)):
            raise AccessError("unauthenticated")
        if row[3] is not None:
            raise AccessError("api_key_revoked")
        return Principal(f"apikey:{key_id}", "", "api-key", frozenset(json.loads(row[2])))
