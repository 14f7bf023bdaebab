"""The common core of :class:`~zhifu.security.hsm.soft.SoftHsm`: loading keys by handle with their
usage and algorithm checked, storing new keys, and the audit trail.

The operation families (key management, data and MAC, PIN, card, public key) are mixins over
this base, one module each; :mod:`zhifu.security.hsm.soft` puts them together.

>>> from zhifu.security.keys import KeyAlgorithm
>>> check_pair(KeyUsage.SIGNING, KeyAlgorithm.SM4)
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: algorithm: a signing key is SM2 or RSA, not SM4
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.security.errors import KeyUsageError
from zhifu.security.keys import (
    KeyAlgorithm,
    KeyHandle,
    KeyInfo,
    KeyOrigin,
    KeyUsage,
    new_handle_id,
)
from zhifu.security.secrets import KeyMaterial, Pan
from zhifu.security.store import KeyStore

__all__ = ["HandleLike", "HsmBase", "LoadedKey", "check_pair", "handle_id", "pan_digits"]

HandleLike = KeyHandle | str
"""A key handle, or its id string."""

log = logging.getLogger("zhifu.security.hsm.soft")
audit_log = logging.getLogger("zhifu.security.audit")

_ASYMMETRIC = (KeyAlgorithm.SM2, KeyAlgorithm.RSA)
_SYMMETRIC = (KeyAlgorithm.DES, KeyAlgorithm.TDES, KeyAlgorithm.AES, KeyAlgorithm.SM4)
_CARD = (KeyAlgorithm.TDES, KeyAlgorithm.SM4)
_ALLOWED = {
    KeyUsage.PIN: _SYMMETRIC,
    KeyUsage.MAC: _SYMMETRIC,
    KeyUsage.DATA: _SYMMETRIC,
    KeyUsage.KEK: _SYMMETRIC,
    KeyUsage.PVK: _SYMMETRIC,
    KeyUsage.CVK: (KeyAlgorithm.TDES,),
    KeyUsage.CARD_MASTER: _CARD,
    KeyUsage.CARD: _CARD,
    KeyUsage.SIGNING: _ASYMMETRIC,
    KeyUsage.VERIFICATION: _ASYMMETRIC,
}


def check_pair(usage: KeyUsage, algorithm: KeyAlgorithm) -> None:
    """Refuse a usage/algorithm pair that makes no sense (an SM4 signing key, an RSA PIN key)."""
    allowed = _ALLOWED[usage]
    if algorithm not in allowed:
        names = " or ".join(a.name for a in allowed)
        article = "an" if usage.value[0] in "aeiou" else "a"
        raise UsageError(
            f"{article} {usage.value} key is {names}, not {algorithm.name}", argument="algorithm"
        )


def handle_id(handle: HandleLike) -> str:
    """The id of a handle given as :class:`KeyHandle` or string."""
    if isinstance(handle, KeyHandle):
        return handle.id
    if isinstance(handle, str) and handle:
        return handle
    raise UsageError("a key handle is a KeyHandle or its id string", argument="handle")


def pan_digits(pan: Pan | str) -> str:
    """The PAN digits of a :class:`Pan` or a digit string (checked by building a Pan)."""
    return (pan if isinstance(pan, Pan) else Pan(pan)).reveal()


@dataclass
class LoadedKey:
    """A key unsealed for the duration of one operation (wiped afterwards)."""

    info: KeyInfo
    material: KeyMaterial
    public: bytes | None

    @property
    def id(self) -> str:
        """The handle id."""
        return self.info.handle.id

    @property
    def clear(self) -> bytes:
        """The clear key bytes (inside the security module only)."""
        return self.material.reveal()


class HsmBase:
    """Key loading with usage checks, key storing and auditing, shared by the mixins."""

    def __init__(
        self,
        store: KeyStore,
        *,
        rng: RandomSource | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._rng: RandomSource = rng or SystemRandomSource()
        self._clock: Clock = clock or SystemClock()

    @property
    def store(self) -> KeyStore:
        """The key store behind this module."""
        return self._store

    @contextmanager
    def _use(
        self,
        handle: HandleLike,
        usages: KeyUsage | Iterable[KeyUsage],
        algorithms: Iterable[KeyAlgorithm] | None = None,
    ) -> Iterator[LoadedKey]:
        """Unseal ``handle`` after checking its usage (and algorithm); wipe it afterwards."""
        wanted = (usages,) if isinstance(usages, KeyUsage) else tuple(usages)
        info, material, public = self._store.load(handle_id(handle))
        key = LoadedKey(info, material, public)
        try:
            if info.usage not in wanted:
                expected = " or ".join(u.name for u in wanted)
                raise KeyUsageError(key.id, expected, info.usage.name)
            if algorithms is not None:
                allowed = tuple(algorithms)
                if info.algorithm not in allowed:
                    expected = " or ".join(a.name for a in allowed)
                    raise KeyUsageError(key.id, expected, info.algorithm.name, what="algorithm")
            log.debug(
                "key %s unsealed for use (usage=%s algorithm=%s kcv=%s)",
                key.id,
                info.usage.name,
                info.algorithm.name,
                info.kcv,
            )
            yield key
        finally:
            material.wipe()

    def _store_key(
        self,
        usage: KeyUsage,
        algorithm: KeyAlgorithm,
        material: KeyMaterial,
        *,
        kcv: str,
        length: int,
        exportable: bool,
        origin: KeyOrigin,
        label: str = "",
        public: bytes | None = None,
        detail: str = "",
    ) -> KeyHandle:
        """Seal a new key in the store (one transaction with its audit line); its handle."""
        handle = KeyHandle(new_handle_id(), usage, algorithm, kcv)
        info = KeyInfo(handle, length, exportable, origin, self._clock.now(), label)
        self._store.add(info, material, public, detail=f"{origin.value}; {detail}".strip("; "))
        material.wipe()
        audit_log.info(
            "key added: %s usage=%s algorithm=%s kcv=%s origin=%s",
            handle.id,
            usage.name,
            algorithm.name,
            kcv,
            origin.value,
        )
        return handle

    def _audit(self, event: str, handle: str = "", detail: str = "") -> None:
        """Record one audit line in the store and the audit logger (never a value)."""
        self._store.audit(event, handle, detail)
        audit_log.info("%s %s %s", event, handle, detail)
