"""The algorithms the mini terminal specification names, as data, and pluggable hardware providers.

Every algorithm has a row: kind, key sizes, block or digest size, the public specification, and
whether zhifu can run it. SM1 and SSF33 have no public specification (they are classified and
exist only inside certified hardware), so they are available only once a :class:`Provider` for
them, typically a driver of a secure element or hardware security module, is registered.

>>> get("3des").block_size, get("SM4").key_bits
(8, (128,))
>>> require("SM1")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.crypto.errors.UnsupportedAlgorithm: SM1 is a classified...hardware...register_provider(...
"""

from __future__ import annotations

import dataclasses
import enum
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from zhifu.core.errors import UsageError
from zhifu.crypto import cipher
from zhifu.crypto.errors import CryptoError, UnsupportedAlgorithm

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "KeyRef",
    "Kind",
    "Provider",
    "decrypt_ecb",
    "encrypt_ecb",
    "get",
    "provider_for",
    "register_provider",
    "require",
    "unregister_provider",
]


class Kind(enum.Enum):
    """What an algorithm is for."""

    ASYMMETRIC = "asymmetric"
    BLOCK_CIPHER = "block cipher"
    HASH = "hash"


@dataclass(frozen=True)
class Algorithm:
    """One algorithm: sizes in bits for keys, in bytes for blocks and digests (as in ``cipher``)."""

    name: str
    kind: Kind
    key_bits: tuple[int, ...]
    block_size: int | None
    digest_size: int | None
    spec: str  # the public specification, or why there is none
    public: bool
    available: bool
    provider: str | None = None  # name of the registered provider serving it, if any


_ROWS = (
    Algorithm("RSA1024", Kind.ASYMMETRIC, (1024,), None, None,
              "RFC 8017 (PKCS #1 v2.2); EMV 4.3 Book 2", True, True),
    Algorithm("RSA2048", Kind.ASYMMETRIC, (2048,), None, None,
              "RFC 8017 (PKCS #1 v2.2); EMV 4.3 Book 2", True, True),
    Algorithm("SM2", Kind.ASYMMETRIC, (256,), None, None,
              "GB/T 32918.1-5 (GM/T 0003); curve sm2p256v1", True, True),
    Algorithm("DES", Kind.BLOCK_CIPHER, (64,), 8, None,
              "FIPS 46-3 (withdrawn) / ANSI X3.92", True, True),
    Algorithm("3DES", Kind.BLOCK_CIPHER, (128, 192), 8, None,
              "NIST SP 800-67 / ISO/IEC 18033-3 (TDEA, 2- and 3-key)", True, True),
    Algorithm("AES", Kind.BLOCK_CIPHER, (128, 192, 256), 16, None,
              "FIPS 197 / ISO/IEC 18033-3", True, True),
    Algorithm("SM4", Kind.BLOCK_CIPHER, (128,), 16, None,
              "GB/T 32907-2016 (GM/T 0002) / ISO/IEC 18033-3:2010/Amd 1", True, True),
    Algorithm("SM1", Kind.BLOCK_CIPHER, (128,), 16, None,
              "none: classified, implemented only in certified hardware", False, False),
    Algorithm("SSF33", Kind.BLOCK_CIPHER, (128,), 16, None,
              "none: classified, implemented only in certified hardware", False, False),
    Algorithm("SHA1", Kind.HASH, (), None, 20, "FIPS 180-4", True, True),
    Algorithm("SHA256", Kind.HASH, (), None, 32, "FIPS 180-4", True, True),
    Algorithm("SM3", Kind.HASH, (), None, 32,
              "GB/T 32905-2016 (GM/T 0004) / ISO/IEC 10118-3:2018", True, True),
)  # fmt: skip

ALGORITHMS: Mapping[str, Algorithm] = MappingProxyType({a.name: a for a in _ROWS})
_ALIASES = {"TDES": "3DES", "DES3": "3DES", "TRIPLEDES": "3DES", "DESEDE": "3DES", "SHA": "SHA1"}
_SOFTWARE = {"DES": cipher.Cipher.DES, "3DES": cipher.Cipher.TDES, "AES": cipher.Cipher.AES,
             "SM4": cipher.Cipher.SM4}  # fmt: skip

KeyRef = bytes | str | int
"""Clear key bytes, or a handle / label that only the provider understands."""


@runtime_checkable
class Provider(Protocol):
    """A hardware module (secure element, HSM, PSAM card) that runs block ciphers for zhifu.

    ``algorithms`` lists registry names (``"SM1"``, ``"SSF33"``, ``"SM4"``...). Data given to
    ``encrypt_ecb``/``decrypt_ecb`` is a whole number of blocks; the result has the same length.
    """

    @property
    def name(self) -> str: ...

    @property
    def algorithms(self) -> Collection[str]: ...

    def encrypt_ecb(self, alg: str, key: KeyRef, data: bytes) -> bytes: ...

    def decrypt_ecb(self, alg: str, key: KeyRef, data: bytes) -> bytes: ...


_providers: dict[str, Provider] = {}
_lock = threading.Lock()


def _canonical(name: str) -> str:
    norm = str(name).strip().upper().replace("-", "").replace("_", "").replace(" ", "")
    norm = _ALIASES.get(norm, norm)
    if norm not in ALGORITHMS:
        known = ", ".join(ALGORITHMS)
        raise UsageError(f"unknown algorithm {name!r}; known: {known}", argument="algorithm")
    return norm


def provider_for(name: str) -> Provider | None:
    """The first registered provider serving ``name``, if any."""
    canonical = _canonical(name)
    with _lock:
        return next((p for p in _providers.values() if canonical in p.algorithms), None)


def get(name: str) -> Algorithm:
    """The row for ``name`` (case and dashes ignored, ``TDES`` = ``3DES``), availability live."""
    row = ALGORITHMS[_canonical(name)]
    provider = provider_for(row.name)
    if provider is None:
        return row
    return dataclasses.replace(row, available=True, provider=provider.name)


def _unsupported(row: Algorithm) -> UnsupportedAlgorithm:
    return UnsupportedAlgorithm(
        f"{row.name} is a classified algorithm with no public specification; only a hardware "
        "module can serve it. Register a driver with "
        "zhifu.crypto.registry.register_provider(provider), where provider implements "
        "zhifu.crypto.registry.Provider (name, algorithms, encrypt_ecb, decrypt_ecb)."
    )


def require(name: str) -> Algorithm:
    """Like :func:`get`, but raise :class:`UnsupportedAlgorithm` when nothing can run it."""
    row = get(name)
    if not row.available:
        raise _unsupported(row)
    return row


def register_provider(provider: Provider) -> None:
    """Plug in a hardware module; its algorithms become available (block ciphers only)."""
    if not isinstance(provider, Provider):
        raise UsageError(
            "the provider does not implement the Provider protocol", argument="provider"
        )
    for alg in provider.algorithms:
        if alg not in ALGORITHMS or ALGORITHMS[alg].kind is not Kind.BLOCK_CIPHER:
            reason = f"providers serve registry block ciphers; {alg!r} is not one"
            raise UsageError(reason, argument="provider")
    with _lock:
        if provider.name in _providers:
            raise UsageError(
                f"a provider named {provider.name!r} is registered", argument="provider"
            )
        _providers[provider.name] = provider


def unregister_provider(name: str) -> None:
    """Remove the provider registered under ``name`` (unknown names are ignored)."""
    with _lock:
        _providers.pop(name, None)


def _route(alg: str, key: KeyRef, data: bytes) -> tuple[Algorithm, Provider | None, bytes]:
    row = require(alg)
    if row.kind is not Kind.BLOCK_CIPHER or row.block_size is None:
        raise UsageError(f"{row.name} is not a block cipher", argument="algorithm")
    if len(data) % row.block_size:
        reason = f"data must be a multiple of {row.block_size} bytes, not {len(data)}"
        raise UsageError(reason, argument="data")
    if row.name in _SOFTWARE and isinstance(key, bytes | bytearray):
        return row, None, bytes(key)  # clear keys of public ciphers run in software
    provider = provider_for(row.name)
    if provider is None:
        raise UsageError(f"a key handle for {row.name} needs a registered provider", argument="key")
    return row, provider, b""


def _checked(out: bytes, data: bytes, provider: Provider) -> bytes:
    if len(out) != len(data):
        raise CryptoError(f"provider {provider.name} returned {len(out)} bytes for {len(data)}")
    return bytes(out)


def encrypt_ecb(alg: str, key: KeyRef, data: bytes) -> bytes:
    """ECB-encrypt with ``alg``: software for clear keys of public ciphers, else the provider."""
    data = bytes(data)
    row, provider, clear_key = _route(alg, key, data)
    if provider is None:
        return cipher.encrypt_ecb(_SOFTWARE[row.name], clear_key, data)
    return _checked(provider.encrypt_ecb(row.name, key, data), data, provider)


def decrypt_ecb(alg: str, key: KeyRef, data: bytes) -> bytes:
    """ECB-decrypt with ``alg`` (same routing as :func:`encrypt_ecb`)."""
    data = bytes(data)
    row, provider, clear_key = _route(alg, key, data)
    if provider is None:
        return cipher.decrypt_ecb(_SOFTWARE[row.name], clear_key, data)
    return _checked(provider.decrypt_ecb(row.name, key, data), data, provider)
