"""Merchants (field 42) and terminals (field 41), with each terminal's keys held by handle.

A terminal's master key (TMK) is generated inside the security module as two components for
dual control (:func:`register_terminal`); the registry keeps only its handle and check value.
Working keys (PIK, MAK, TDK) delivered at sign-on are kept the same way, with the terminal's
batch number, last sign-on code and the parameter-table versions it finished downloading. No
clear key is ever stored in, or returned by, the registry.

>>> from zhifu.acquirer.database import Database
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> hsm, registry = SoftHsm(KeyStore.in_memory()), Registry(Database())
>>> reg = register_terminal(registry, hsm, "898100012345678", "10000001", name="counter 1")
>>> reg.terminal.terminal_id, reg.terminal.batch, len(reg.components), len(reg.tmk_kcv)
('10000001', '000001', 2, 6)
>>> reg.components[0]
KeyComponent(<16 bytes redacted>, kcv=...)
>>> registry.terminal("10000001").tmk_handle == reg.terminal.tmk_handle
True
>>> registry.terminal("99999999") is None
True
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from zhifu.acquirer.database import Database
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.security.hsm.keys import KeyComponent
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage

__all__ = [
    "TMK_ALGORITHMS",
    "Merchant",
    "Registration",
    "Registry",
    "RegistryError",
    "Terminal",
    "WorkingKeys",
    "register_terminal",
]

TMK_ALGORITHMS: Final = ("3des", "sm4", "des")
"""TMK algorithms a terminal can be registered with (3DES is the default)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS merchants (
    merchant_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
    created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS terminals (
    terminal_id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(merchant_id),
    name TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL,
    tmk_handle TEXT NOT NULL, tmk_algorithm TEXT NOT NULL, tmk_kcv TEXT NOT NULL,
    pik_handle TEXT, mak_handle TEXT, tdk_handle TEXT, key_scheme TEXT,
    batch TEXT NOT NULL, signed_on TEXT, capk_version INTEGER NOT NULL DEFAULT 0,
    aid_version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_TERMINAL_COLUMNS = (
    "terminal_id, merchant_id, name, status, created, tmk_handle, tmk_algorithm, tmk_kcv, "
    "pik_handle, mak_handle, tdk_handle, key_scheme, batch, signed_on, capk_version, aid_version"
)
ACTIVE, BLOCKED, SIGNED_OFF = "active", "blocked", "signed-off"


class RegistryError(ZhifuError):
    """A registry change that cannot be made (duplicate terminal, unknown merchant...)."""


@dataclasses.dataclass(frozen=True)
class Merchant:
    """A merchant (card acceptor, field 42)."""

    merchant_id: str
    name: str
    status: str
    created: datetime


@dataclasses.dataclass(frozen=True)
class WorkingKeys:
    """Handles of the working keys delivered at one sign-on (60.3 ``scheme``)."""

    scheme: str
    pik: str
    mak: str
    tdk: str | None = None

    @property
    def handles(self) -> tuple[str, ...]:
        """Every handle, for deleting the set."""
        return (self.pik, self.mak) + ((self.tdk,) if self.tdk else ())


@dataclasses.dataclass(frozen=True)
class Terminal:
    """A POS terminal (field 41): its merchant, TMK handle, working keys, batch, downloads."""

    terminal_id: str
    merchant_id: str
    name: str
    status: str
    created: datetime
    tmk_handle: str
    tmk_algorithm: str
    tmk_kcv: str
    working_keys: WorkingKeys | None
    batch: str
    signed_on: datetime | None
    capk_version: int
    aid_version: int

    @property
    def signed_on_now(self) -> bool:
        """True when the terminal holds working keys (signed on and not signed off)."""
        return self.working_keys is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view (handles and check values only, never a key)."""
        keys = self.working_keys
        return {
            "terminal_id": self.terminal_id,
            "merchant_id": self.merchant_id,
            "name": self.name,
            "status": self.status,
            "created": self.created.isoformat(),
            "tmk": {"handle": self.tmk_handle, "algorithm": self.tmk_algorithm,
                    "kcv": self.tmk_kcv},
            "working_keys": None if keys is None else dataclasses.asdict(keys),
            "batch": self.batch,
            "signed_on": None if self.signed_on is None else self.signed_on.isoformat(),
            "capk_version": self.capk_version,
            "aid_version": self.aid_version,
        }  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Registration:
    """A new terminal with its TMK's two components (for printing, then forgotten)."""

    terminal: Terminal
    tmk_kcv: str
    components: tuple[KeyComponent, ...]


def _check_id(value: str, size: int, argument: str) -> str:
    if not isinstance(value, str) or len(value) != size or not value.isascii():
        raise UsageError(f"must be {size} ASCII characters", argument=argument)
    if not value.isprintable() or value != value.strip():
        raise UsageError("printable characters, no leading or trailing space", argument=argument)
    return value


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _terminal(row: tuple[Any, ...]) -> Terminal:
    (tid, mid, name, status, created, tmk, tmk_alg, tmk_kcv, pik, mak, tdk, scheme, batch,
     signed_on, capk_version, aid_version) = row  # fmt: skip
    keys = WorkingKeys(scheme, pik, mak, tdk) if pik and mak and scheme else None
    created_at = datetime.fromisoformat(created)
    return Terminal(
        tid, mid, name, status, created_at, tmk, tmk_alg, tmk_kcv, keys, batch,
        _time(signed_on), int(capk_version), int(aid_version),
    )  # fmt: skip


class Registry:
    """Merchants and terminals in the acquirer database."""

    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self._db = db
        self._clock: Clock = clock or SystemClock()
        db.ensure_schema(_SCHEMA)

    # --- merchants ---------------------------------------------------------------------------

    def add_merchant(self, merchant_id: str, name: str = "") -> Merchant:
        """Add a merchant (15 characters, field 42); an existing one is returned unchanged."""
        _check_id(merchant_id, 15, "merchant_id")
        found = self.merchant(merchant_id)
        if found is not None:
            return found
        created = self._clock.now()
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO merchants VALUES (?, ?, ?, ?)",
                (merchant_id, name, ACTIVE, created.isoformat()),
            )
        return Merchant(merchant_id, name, ACTIVE, created)

    def merchant(self, merchant_id: str) -> Merchant | None:
        """A merchant by id, or None."""
        row = self._db.query_one("SELECT * FROM merchants WHERE merchant_id = ?", (merchant_id,))
        if row is None:
            return None
        return Merchant(row[0], row[1], row[2], datetime.fromisoformat(row[3]))

    # --- terminals ---------------------------------------------------------------------------

    def add_terminal(
        self,
        terminal_id: str,
        merchant_id: str,
        *,
        tmk_handle: str,
        tmk_algorithm: str,
        tmk_kcv: str,
        name: str = "",
    ) -> Terminal:
        """Insert a terminal whose TMK already exists in the security module."""
        _check_id(terminal_id, 8, "terminal_id")
        if self.merchant(merchant_id) is None:
            raise RegistryError(f"merchant {merchant_id} is not registered")
        if self.terminal(terminal_id) is not None:
            raise RegistryError(f"terminal {terminal_id} is already registered")
        with self._db.transaction() as cur:
            cur.execute(
                f"INSERT INTO terminals ({_TERMINAL_COLUMNS}) "  # noqa: S608 - fixed columns
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, '000001', NULL, 0, 0)",
                (terminal_id, merchant_id, name, ACTIVE, self._clock.now().isoformat(),
                 tmk_handle, tmk_algorithm, tmk_kcv),
            )  # fmt: skip
        found = self.terminal(terminal_id)
        assert found is not None
        return found

    def terminal(self, terminal_id: str) -> Terminal | None:
        """A terminal by id, or None."""
        row = self._db.query_one(
            f"SELECT {_TERMINAL_COLUMNS} FROM terminals WHERE terminal_id = ?",  # noqa: S608
            (terminal_id,),
        )
        return None if row is None else _terminal(row)

    def terminals(self) -> list[Terminal]:
        """Every terminal, by id."""
        rows = self._db.query(
            f"SELECT {_TERMINAL_COLUMNS} FROM terminals ORDER BY terminal_id"  # noqa: S608
        )
        return [_terminal(row) for row in rows]

    def held_key_handles(self) -> frozenset[str]:
        """The handles of every terminal's current working keys (PIK, MAK, TDK)."""
        rows = self._db.query("SELECT pik_handle, mak_handle, tdk_handle FROM terminals")
        return frozenset(str(handle) for row in rows for handle in row if handle)

    def terminal_ids(self) -> frozenset[str]:
        """The ids of every registered terminal."""
        return frozenset(str(row[0]) for row in self._db.query("SELECT terminal_id FROM terminals"))

    def set_status(self, terminal_id: str, status: str) -> None:
        """Block (``blocked``) or re-activate (``active``) a terminal."""
        if status not in (ACTIVE, BLOCKED):
            raise UsageError("a terminal is active or blocked", argument="status")
        self._update(terminal_id, "status = ?", (status,))

    def set_tmk(self, terminal_id: str, handle: str, kcv: str) -> None:
        """Record a new TMK (handle and check value) for a terminal (:func:`rekey_terminal`)."""
        self._update(terminal_id, "tmk_handle = ?, tmk_kcv = ?", (handle, kcv))

    def _update(self, terminal_id: str, assignments: str, params: tuple[Any, ...]) -> None:
        with self._db.transaction() as cur:
            cur.execute(
                f"UPDATE terminals SET {assignments} WHERE terminal_id = ?",  # noqa: S608
                (*params, terminal_id),
            )
            if cur.rowcount != 1:
                raise RegistryError(f"terminal {terminal_id} is not registered")

    # --- sign-on state -----------------------------------------------------------------------

    def _swap_keys(
        self, terminal_id: str, assignments: str, params: tuple[Any, ...]
    ) -> WorkingKeys | None:
        """Read the current working keys and update, in one transaction; the old keys."""
        with self._db.transaction() as cur:
            row = cur.execute(
                f"SELECT {_TERMINAL_COLUMNS} FROM terminals WHERE terminal_id = ?",  # noqa: S608
                (terminal_id,),
            ).fetchone()
            if row is None:
                raise RegistryError(f"terminal {terminal_id} is not registered")
            cur.execute(
                f"UPDATE terminals SET {assignments} WHERE terminal_id = ?",  # noqa: S608
                (*params, terminal_id),
            )
        return _terminal(tuple(row)).working_keys

    def sign_on(self, terminal_id: str, keys: WorkingKeys, batch: str) -> WorkingKeys | None:
        """Record a sign-on's working keys and batch; the previous keys (to delete) or None."""
        return self._swap_keys(
            terminal_id,
            "pik_handle = ?, mak_handle = ?, tdk_handle = ?, key_scheme = ?, batch = ?, "
            "signed_on = ?, status = CASE status WHEN ? THEN ? ELSE status END",
            (keys.pik, keys.mak, keys.tdk, keys.scheme, batch, self._clock.now().isoformat(),
             SIGNED_OFF, ACTIVE),
        )  # fmt: skip

    def sign_off(self, terminal_id: str) -> WorkingKeys | None:
        """Forget the working keys (the terminal must sign on again); the old ones, to delete."""
        return self._swap_keys(
            terminal_id,
            "pik_handle = NULL, mak_handle = NULL, tdk_handle = NULL, key_scheme = NULL, "
            "status = CASE status WHEN ? THEN ? ELSE status END",
            (ACTIVE, SIGNED_OFF),
        )

    def record_download(self, terminal_id: str, table: str, version: int) -> None:
        """The terminal finished downloading ``table`` (``capk`` or ``aid``) at ``version``."""
        column = {"capk": "capk_version", "aid": "aid_version"}.get(table)
        if column is None:
            raise UsageError("the table is capk or aid", argument="table")
        self._update(terminal_id, f"{column} = ?", (version,))

    def next_value(self, counter: str, modulo: int) -> int:
        """The next value (1 to modulo - 1) of a named counter (RRN sequence, ...)."""
        with self._db.transaction() as cur:
            row = cur.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
            value = 1 if row is None else int(row[0]) % (modulo - 1) + 1
            cur.execute(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
                (counter, value, value),
            )
        return value


def register_terminal(
    registry: Registry,
    hsm: SoftHsm,
    merchant_id: str,
    terminal_id: str,
    *,
    name: str = "",
    merchant_name: str = "",
    algorithm: str = "3des",
) -> Registration:
    """Register a terminal: generate its TMK as two components inside the security module.

    The merchant is added when new. The components (with their check values) are returned for
    printing under dual control, one per custodian; only the TMK's handle and check value are
    stored. If the registry refuses the terminal, the new TMK is deleted again.
    """
    if algorithm not in TMK_ALGORITHMS:
        raise UsageError(f"one of {', '.join(TMK_ALGORITHMS)}", argument="algorithm")
    _check_id(terminal_id, 8, "terminal_id")
    _check_id(merchant_id, 15, "merchant_id")
    if registry.terminal(terminal_id) is not None:
        raise RegistryError(f"terminal {terminal_id} is already registered")
    registry.add_merchant(merchant_id, merchant_name)
    key_algorithm = KeyAlgorithm.parse(algorithm)
    tmk, components = hsm.generate_key_components(
        KeyUsage.KEK, key_algorithm, count=2, exportable=False, label=f"TMK {terminal_id}"
    )
    try:
        terminal = registry.add_terminal(
            terminal_id, merchant_id, tmk_handle=tmk.id, tmk_algorithm=algorithm,
            tmk_kcv=tmk.kcv, name=name,
        )  # fmt: skip
    except BaseException:
        hsm.delete_key(tmk)
        raise
    return Registration(terminal, tmk.kcv, components)


def rekey_terminal(registry: Registry, hsm: SoftHsm, terminal_id: str) -> Registration:
    """Give a terminal a new TMK (two components for dual control), as after a compromise.

    Its working keys are forgotten (it must sign on again, under the new TMK) and the old TMK and
    working keys are deleted from the security module; the status is kept (a blocked terminal
    stays blocked until it is unblocked).
    """
    terminal = registry.terminal(terminal_id)
    if terminal is None:
        raise RegistryError(f"terminal {terminal_id} is not registered")
    key_algorithm = KeyAlgorithm.parse(terminal.tmk_algorithm)
    tmk, components = hsm.generate_key_components(
        KeyUsage.KEK, key_algorithm, count=2, exportable=False, label=f"TMK {terminal_id}"
    )
    old = registry.sign_off(terminal_id)
    registry.set_tmk(terminal_id, tmk.id, tmk.kcv)
    for handle in (terminal.tmk_handle, *(old.handles if old else ())):
        if handle:
            hsm.delete_key(handle)
    renewed = registry.terminal(terminal_id)
    assert renewed is not None
    return Registration(renewed, tmk.kcv, components)
