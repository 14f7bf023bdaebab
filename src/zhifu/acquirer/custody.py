"""Custody of the working keys the acquirer issues: from generation to a terminal, or deletion.

A sign-on generates the terminal's PIK, MAK and TDK in the security module in ``prepare`` and
records them against the terminal in ``commit``
(:mod:`~zhifu.acquirer.participants.sign_on`). A process killed between the two leaves keys
in the key store that no terminal holds, for ever. :class:`KeyCustody` generates those keys
and counts them *in flight* until the sign-on commits or deletes them; its :meth:`sweep`
deletes the orphans: working keys that no terminal holds and that are not in flight. The host
sweeps when it starts, and a sign-on sweeps after it failed.

A key is one of the acquirer's working keys when all of these hold (:func:`owner_of`):

* its usage is PIN, MAC or DATA (a TMK is a KEK: never swept);
* it was generated inside the security module (not imported, not formed from components);
* its label is ``"<USAGE> <terminal id>"`` (:func:`key_label`) and that terminal is
  registered.

Keys of any other kind or label belong to someone else and are left alone. Only one host may
sweep a key store: :class:`HostLock` (an exclusive lock on ``acquirer.lock`` beside the key
store) is held by the host that opened it first; a second host on the same data directory
serves without sweeping, since it cannot see the first one's keys in flight.

>>> from zhifu.acquirer.database import Database
>>> from zhifu.acquirer.registry import Registry, register_terminal
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> hsm, registry = SoftHsm(KeyStore.in_memory()), Registry(Database())
>>> _ = register_terminal(registry, hsm, "898100012345678", "10000001")
>>> custody = KeyCustody(hsm, registry)
>>> mak = custody.generate(KeyUsage.MAC, KeyAlgorithm.DES, "10000001")
>>> hsm.key_info(mak).label, custody.sweep("a test")  # in flight: kept
('MAC 10000001', [])
>>> custody.settle([mak.id])  # as if the process had died before the commit
>>> custody.sweep("a test") == [mak.id], len(hsm.list_keys())  # only the TMK is left
(True, 1)
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from zhifu.acquirer.registry import Registry
from zhifu.core.files import private_file
from zhifu.security.errors import KeyNotFoundError, SecurityModuleError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyInfo, KeyOrigin, KeyUsage

__all__ = ["LOCK_FILE", "WORKING_USAGES", "HostLock", "KeyCustody", "key_label", "owner_of"]

WORKING_USAGES: Final = (KeyUsage.PIN, KeyUsage.MAC, KeyUsage.DATA)
"""Usages of the working keys a sign-on issues (PIK, MAK, TDK)."""
LOCK_FILE: Final = "acquirer.lock"
TERMINAL_ID_LENGTH: Final = 8

log = logging.getLogger("zhifu.acquirer.custody")


def key_label(usage: KeyUsage, terminal_id: str) -> str:
    """The label of a working key issued to ``terminal_id`` (``"MAC 10000001"``)."""
    return f"{usage.name} {terminal_id}"


def owner_of(info: KeyInfo) -> str | None:
    """The terminal id a working key was issued to, or None for any other key.

    >>> from datetime import datetime
    >>> from zhifu.security.keys import KeyHandle
    >>> def info(usage, label, origin=KeyOrigin.GENERATED):
    ...     handle = KeyHandle("K-1", usage, KeyAlgorithm.TDES, "000000")
    ...     return KeyInfo(handle, 16, True, origin, datetime(2025, 1, 1), label)
    >>> owner_of(info(KeyUsage.PIN, "PIN 10000001"))
    '10000001'
    >>> owner_of(info(KeyUsage.KEK, "KEK 10000001")), owner_of(info(KeyUsage.PIN, "ZPK bank"))
    (None, None)
    >>> owner_of(info(KeyUsage.MAC, "MAC 10000001", KeyOrigin.IMPORTED))
    """
    if info.usage not in WORKING_USAGES or info.origin is not KeyOrigin.GENERATED:
        return None
    prefix = key_label(info.usage, "")
    if not info.label.startswith(prefix) or len(info.label) != len(prefix) + TERMINAL_ID_LENGTH:
        return None
    return info.label[len(prefix) :]


class KeyCustody:
    """Working keys in flight between generation and commit, and the sweep of orphans.

    ``sweeps`` False (a second host on the same key store) turns :meth:`sweep` off.
    """

    def __init__(self, hsm: SoftHsm, registry: Registry, *, sweeps: bool = True) -> None:
        self._hsm = hsm
        self._registry = registry
        self._sweeps = sweeps
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    @property
    def in_flight(self) -> frozenset[str]:
        """Handles generated and not yet settled."""
        with self._lock:
            return frozenset(self._in_flight)

    def generate(self, usage: KeyUsage, algorithm: KeyAlgorithm, terminal_id: str) -> KeyHandle:
        """Generate an exportable working key for ``terminal_id``; in flight until settled."""
        with self._lock:  # a sweep never sees the key before it is counted in flight
            handle = self._hsm.generate_key(
                usage, algorithm, exportable=True, label=key_label(usage, terminal_id)
            )
            self._in_flight.add(handle.id)
        return handle

    def settle(self, handles: Iterable[str]) -> None:
        """The keys are a terminal's now, or deleted: no longer in flight."""
        with self._lock:
            self._in_flight.difference_update(handles)

    def discard(self, handles: Iterable[str], reason: str) -> None:
        """Delete keys of a sign-on that did not happen (gone already: fine), and settle them."""
        wanted = tuple(handles)
        for handle in wanted:
            try:
                self._hsm.delete_key(handle, reason=reason)
            except KeyNotFoundError:
                continue
        self.settle(wanted)

    def sweep(self, when: str) -> list[str]:
        """Delete the working keys no terminal holds and none is waiting for; their handles."""
        if not self._sweeps:
            return []
        with self._lock:
            deleted = self._sweep_locked(when)
        if deleted:
            log.warning("%s: deleted %d working keys no terminal held", when, len(deleted))
        return deleted

    def _sweep_locked(self, when: str) -> list[str]:
        held = self._registry.held_key_handles()
        terminals = self._registry.terminal_ids()
        deleted: list[str] = []
        for handle in self._hsm.store.handles(WORKING_USAGES):
            if handle in held or handle in self._in_flight:
                continue
            try:
                if owner_of(self._hsm.key_info(handle)) not in terminals:
                    continue
                self._hsm.delete_key(handle, reason=f"orphaned working key, swept {when}")
            except KeyNotFoundError:
                continue  # deleted meanwhile by a sign-off or a later sign-on
            except SecurityModuleError as exc:
                log.warning("key %s not swept: %s", handle, exc)
                continue
            deleted.append(handle)
        return deleted


class HostLock:
    """An exclusive lock on a key store's folder, held while one host serves from it."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, folder: str | Path) -> HostLock | None:
        """The lock on ``folder/acquirer.lock``, or None while another process holds it."""
        path = Path(folder) / LOCK_FILE
        private_file(path)
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return cls(fd, path)

    def release(self) -> None:
        """Let another host take the lock (closing the file releases it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
