"""The persistent key store of the security module: SQLite, every key sealed under the LMK.

Each key row holds the key bytes encrypted with AES-256-GCM under the local master key (LMK)
and a fresh 96-bit nonce. The associated data binds the row to its metadata: handle, usage,
algorithm, length, export attribute, origin, check value, creation time, label and the SHA-256
of the public key (SM2/RSA). A row re-labelled to another usage, made exportable, or given
another public key fails authentication on the next read. The LMK itself never enters the
database: it comes from the environment (``ZHIFU_LMK``, 64 hex digits) or from a file named by
``ZHIFU_LMK_FILE``. A check value (AES-GCM of a constant under the LMK) stored in the database
detects a wrong LMK at start. Every write is one transaction, its audit line included. The
store's file is created with mode 0600 in an existing folder, and SQLite's ``-wal`` and
``-shm`` files beside it have that mode too (:mod:`zhifu.core.files`).

>>> store = KeyStore.in_memory()
>>> store.path
':memory:'
>>> load_lmk({"ZHIFU_LMK": "00" * 31})
Traceback (most recent call last):
...
zhifu.security.errors.LmkError: ZHIFU_LMK must be 64 hex digits (got 62 characters)
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zhifu.core.clock import Clock, SystemClock
from zhifu.core.files import private_file, private_sqlite
from zhifu.security.errors import KeyNotFoundError, LmkError, SecurityModuleError
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyInfo, KeyOrigin, KeyUsage
from zhifu.security.secrets import KeyMaterial

__all__ = ["LMK_ENV", "LMK_FILE_ENV", "AuditRecord", "KeyStore", "load_lmk"]

_ROW_CACHE = 4096
LMK_ENV = "ZHIFU_LMK"
LMK_FILE_ENV = "ZHIFU_LMK_FILE"
_LMK_HOWTO = (
    f"set {LMK_ENV} to 64 hex digits or {LMK_FILE_ENV} to a file holding them "
    "(a new LMK: python -c 'import secrets; print(secrets.token_hex(32))')"
)
_CHECK_PLAINTEXT = b"zhifu local master key check value v1"
_CHECK_AAD = b"zhifu-lmk-check"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    handle TEXT PRIMARY KEY, usage TEXT NOT NULL, algorithm TEXT NOT NULL,
    length INTEGER NOT NULL, exportable INTEGER NOT NULL, origin TEXT NOT NULL,
    kcv TEXT NOT NULL, created TEXT NOT NULL, label TEXT NOT NULL,
    public BLOB, nonce BLOB NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, event TEXT NOT NULL,
    handle TEXT NOT NULL, detail TEXT NOT NULL);
"""
_COLUMNS = "handle, usage, algorithm, length, exportable, origin, kcv, created, label, public"
_INSERT_KEY = f"INSERT INTO keys ({_COLUMNS}, nonce, sealed) VALUES ({', '.join('?' * 12)})"  # noqa: S608
_SELECT_KEY = f"SELECT {_COLUMNS}, nonce, sealed FROM keys WHERE handle = ?"  # noqa: S608


def _parse_lmk(text: str, source: str) -> KeyMaterial:
    text = text.strip()
    if len(text) != 64:
        raise LmkError(f"{source} must be 64 hex digits (got {len(text)} characters)")
    try:
        return KeyMaterial(bytes.fromhex(text))
    except ValueError:
        raise LmkError(f"{source} must be 64 hex digits (it holds other characters)") from None


def load_lmk(environ: Mapping[str, str] | None = None) -> KeyMaterial:
    """The 32-byte LMK from ``ZHIFU_LMK`` or the file named by ``ZHIFU_LMK_FILE``.

    Raises :class:`LmkError` saying what to set when neither (or both) is set, when the value
    is not 64 hex digits, or when the file cannot be read.
    """
    env = os.environ if environ is None else environ
    inline, file_name = env.get(LMK_ENV, ""), env.get(LMK_FILE_ENV, "")
    if inline and file_name:
        raise LmkError(f"both {LMK_ENV} and {LMK_FILE_ENV} are set; set only one")
    if inline:
        return _parse_lmk(inline, LMK_ENV)
    if file_name:
        try:
            text = Path(file_name).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not an ASCII text file"
            raise LmkError(
                f"cannot read the LMK file {file_name} ({reason}); {_LMK_HOWTO}"
            ) from None
        return _parse_lmk(text, f"the LMK file {file_name}")
    raise LmkError(f"no local master key (LMK): {_LMK_HOWTO}")


@dataclass(frozen=True)
class AuditRecord:
    """One line of the key store's audit trail: what happened to which key, never a value."""

    seq: int
    at: datetime
    event: str
    handle: str
    detail: str


def _aad(info: KeyInfo, public: bytes | None) -> bytes:
    public_digest = hashlib.sha256(public).hexdigest() if public is not None else "-"
    fields = (
        "zhifu-key-v1",
        info.handle.id,
        info.usage.value,
        info.algorithm.value,
        str(info.length),
        "exportable" if info.exportable else "non-exportable",
        info.origin.value,
        info.kcv,
        info.created.isoformat(),
        info.label,
        public_digest,
    )
    return "\x1f".join(fields).encode("utf-8")


def _info_from_row(row: tuple[Any, ...]) -> KeyInfo:
    handle, usage, algorithm, length, exportable, origin, kcv, created, label = row[:9]
    return KeyInfo(
        handle=KeyHandle(str(handle), KeyUsage(usage), KeyAlgorithm(algorithm), str(kcv)),
        length=int(length),
        exportable=bool(exportable),
        origin=KeyOrigin(origin),
        created=datetime.fromisoformat(str(created)),
        label=str(label),
    )


class KeyStore:
    """Keys sealed under the LMK in an SQLite file (or in memory).

    This is the security module's own storage: :class:`~zhifu.security.hsm.soft.SoftHsm` is its only
    intended caller. ``path`` ``":memory:"`` keeps everything in memory (tests).
    """

    def __init__(
        self, lmk: KeyMaterial, path: str | Path = ":memory:", *, clock: Clock | None = None
    ) -> None:
        if len(lmk) != 32:
            raise LmkError(f"the LMK is 32 bytes (64 hex digits), not {len(lmk)}")
        self._path = str(path)
        self._aead = AESGCM(lmk.reveal())
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._rows: dict[str, tuple[Any, ...]] = {}  # sealed rows read before (rows never change)
        on_disk = self._path != ":memory:"
        try:
            if on_disk:
                private_file(self._path)
        except OSError as exc:
            raise SecurityModuleError(
                f"cannot create the key store at {self._path} ({exc.strerror})"
            ) from None
        try:
            self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA secure_delete = ON")
            if on_disk:
                # WAL + FULL: every acknowledged write is durable, with one fsync per commit
                # instead of the rollback journal's several (sign-ons write three keys each).
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
            self._check_lmk()
            if on_disk:
                private_sqlite(self._path)
        except OSError as exc:
            raise SecurityModuleError(
                f"cannot make the key store at {self._path} private ({exc.strerror})"
            ) from None
        except sqlite3.DatabaseError as exc:
            raise SecurityModuleError(
                f"the key store at {self._path} cannot be opened as a zhifu key store ({exc})"
            ) from None

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> KeyStore:
        """Open (or create) the store at ``path`` with the LMK from the environment."""
        return cls(load_lmk(environ), path, clock=clock)

    @classmethod
    def in_memory(cls, lmk: KeyMaterial | None = None, *, clock: Clock | None = None) -> KeyStore:
        """A store that lives in memory only, under ``lmk`` or a fresh random LMK."""
        fresh = lmk if lmk is not None else KeyMaterial(secrets.token_bytes(32))
        return cls(fresh, ":memory:", clock=clock)

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``)."""
        return self._path

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # --- LMK check ----------------------------------------------------------------------------

    def _check_lmk(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'lmk_check'").fetchone()
        if row is None:
            nonce = secrets.token_bytes(12)
            sealed = self._aead.encrypt(nonce, _CHECK_PLAINTEXT, _CHECK_AAD)
            with self._transaction():
                self._db.execute(
                    "INSERT INTO meta (name, value) VALUES ('lmk_check', ?)", (nonce + sealed,)
                )
            return
        value = bytes(row[0])
        try:
            self._aead.decrypt(value[:12], value[12:], _CHECK_AAD)
        except InvalidTag:
            raise LmkError(
                f"the key store at {self._path} was created under another LMK (its LMK check "
                f"value does not match); set {LMK_ENV} or {LMK_FILE_ENV} to the LMK it was "
                "created with"
            ) from None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _audit_row(self, event: str, handle: str, detail: str) -> None:
        self._db.execute(
            "INSERT INTO audit (at, event, handle, detail) VALUES (?, ?, ?, ?)",
            (self._clock.now().isoformat(), event, handle, detail),
        )

    # --- keys ---------------------------------------------------------------------------------

    def add(
        self, info: KeyInfo, material: KeyMaterial, public: bytes | None, *, detail: str = ""
    ) -> None:
        """Seal and insert one key and its audit line ``add`` in one transaction."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, material.reveal(), _aad(info, public))
        row = (
            info.handle.id,
            info.usage.value,
            info.algorithm.value,
            info.length,
            int(info.exportable),
            info.origin.value,
            info.kcv,
            info.created.isoformat(),
            info.label,
            public,
            nonce,
            sealed,
        )
        with self._transaction():
            self._db.execute(_INSERT_KEY, row)
            self._audit_row("add", info.handle.id, detail)

    def _row(self, handle_id: str) -> tuple[Any, ...]:
        """A key's sealed row; kept (still sealed) for the next use, since a row never changes
        — it is only deleted, which forgets it here too."""
        with self._lock:
            cached = self._rows.get(handle_id)
            if cached is not None:
                return cached
            row = self._db.execute(_SELECT_KEY, (handle_id,)).fetchone()
            if row is None:
                raise KeyNotFoundError(handle_id)
            if len(self._rows) >= _ROW_CACHE:
                self._rows.clear()
            self._rows[handle_id] = found = tuple(row)
            return found

    def load(self, handle_id: str) -> tuple[KeyInfo, KeyMaterial, bytes | None]:
        """Authenticate and unseal one key: its metadata, clear material and public key."""
        row = self._row(handle_id)
        info = _info_from_row(row)
        public = None if row[9] is None else bytes(row[9])
        nonce, sealed = bytes(row[10]), bytes(row[11])
        try:
            clear = self._aead.decrypt(nonce, sealed, _aad(info, public))
        except InvalidTag:
            raise SecurityModuleError(
                f"key {handle_id} failed its integrity check in the store at {self._path} "
                "(the row was altered)"
            ) from None
        return info, KeyMaterial(clear), public

    def info(self, handle_id: str) -> KeyInfo:
        """The metadata of one key, authenticated (the whole row is checked)."""
        info, material, _ = self.load(handle_id)
        material.wipe()
        return info

    def public_key(self, handle_id: str) -> bytes | None:
        """The stored public key of an SM2/RSA key (authenticated), else ``None``."""
        _, material, public = self.load(handle_id)
        material.wipe()
        return public

    def delete(self, handle_id: str, *, detail: str = "") -> None:
        """Delete one key (its sealed bytes are overwritten: ``secure_delete``) and audit it."""
        with self._transaction():
            self._rows.pop(handle_id, None)
            gone = self._db.execute("DELETE FROM keys WHERE handle = ?", (handle_id,)).rowcount
            if not gone:
                raise KeyNotFoundError(handle_id)
            self._audit_row("delete", handle_id, detail)

    def handles(self, usages: Iterable[KeyUsage] | None = None) -> list[str]:
        """The handle ids in the store (only those of ``usages`` when given), oldest first.

        The filter reads the usage column without unsealing a key: check what matters with
        :meth:`info` before acting on a handle.
        """
        where, params = "", tuple(usage.value for usage in usages or ())
        if usages is not None:
            where = f" WHERE usage IN ({', '.join('?' * len(params))})"
        sql = f"SELECT handle FROM keys{where} ORDER BY created, handle"  # noqa: S608
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [str(row[0]) for row in rows]

    # --- audit --------------------------------------------------------------------------------

    def audit(self, event: str, handle: str = "", detail: str = "") -> None:
        """Append one audit line (event name, handle, detail: never a key, PIN or PAN)."""
        with self._transaction():
            self._audit_row(event, handle, detail)

    def audit_trail(self) -> list[AuditRecord]:
        """Every audit line, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, event, handle, detail FROM audit ORDER BY seq"
            ).fetchall()
        return [
            AuditRecord(int(s), datetime.fromisoformat(a), str(e), str(h), str(d))
            for s, a, e, h, d in rows
        ]
