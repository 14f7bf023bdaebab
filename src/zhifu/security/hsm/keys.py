"""Key management of the security module: generate, form from components, import and export
under a key-encryption key, delete, describe.

Keys leave the module only wrapped under another key (ECB under a KEK, the way POS sign-on
and ZMK exchanges carry them), or as clear *components* from the one method made for printing
them under dual control, :meth:`KeyManagementMixin.generate_key_components`.

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> tmk, parts = hsm.generate_key_components(KeyUsage.KEK, KeyAlgorithm.TDES, count=3)
>>> [len(p.material) for p in parts], all(len(p.kcv) == 6 for p in parts)
([16, 16, 16], True)
>>> again = hsm.form_key_from_components(parts, KeyUsage.KEK, KeyAlgorithm.TDES)
>>> again.kcv == tmk.kcv
True
"""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import decrypt_ecb, encrypt_ecb, xor
from zhifu.crypto.kcv import kcv as _kcv
from zhifu.security.errors import KcvMismatchError, KeyUsageError, SecurityModuleError
from zhifu.security.hsm.asym import new_keypair
from zhifu.security.hsm.base import HandleLike, HsmBase, audit_log, check_pair, handle_id
from zhifu.security.keys import (
    KeyAlgorithm,
    KeyHandle,
    KeyInfo,
    KeyOrigin,
    KeyUsage,
    compute_kcv,
    security_bits,
    with_odd_parity,
)
from zhifu.security.secrets import KeyMaterial

__all__ = ["ComponentSet", "KeyComponent", "KeyManagementMixin", "WrappedKey"]

_EXPORTABLE_BY_DEFAULT = frozenset({KeyUsage.PIN, KeyUsage.MAC, KeyUsage.DATA, KeyUsage.KEK})
_DES_FAMILY = (KeyAlgorithm.DES, KeyAlgorithm.TDES)


@dataclass(frozen=True, repr=False)
class KeyComponent:
    """One clear key component and its check value, as printed on a component form.

    The repr shows only the check value; the component bytes are in ``material``
    (a :class:`KeyMaterial`), to be revealed only by the printing step.
    """

    material: KeyMaterial
    kcv: str

    @classmethod
    def from_hex(cls, component: str, kcv: str) -> KeyComponent:
        """A component as keyed in by a custodian: hex digits and the printed check value."""
        try:
            material = KeyMaterial(bytes.fromhex(component))
        except ValueError:
            raise UsageError("a key component is hex digits", argument="component") from None
        return cls(material, kcv.strip().upper())

    def __repr__(self) -> str:
        return f"KeyComponent(<{len(self.material)} bytes redacted>, kcv={self.kcv!r})"


class ComponentSet(NamedTuple):
    """A key generated as components: its handle, and the components to print."""

    handle: KeyHandle
    components: tuple[KeyComponent, ...]


class WrappedKey(NamedTuple):
    """A key enciphered under a KEK (``key_block``) and the check value of the clear key."""

    key_block: bytes
    kcv: bytes


def _default_exportable(usage: KeyUsage, exportable: bool | None) -> bool:
    return usage in _EXPORTABLE_BY_DEFAULT if exportable is None else exportable


def _check_length(algorithm: KeyAlgorithm, length: int, argument: str = "length") -> None:
    if length not in algorithm.key_lengths:
        sizes = ", ".join(str(n) for n in algorithm.key_lengths)
        unit = "bits" if algorithm is KeyAlgorithm.RSA else "bytes"
        raise UsageError(
            f"a {algorithm.name} key is {sizes} {unit} long, not {length}", argument=argument
        )


def _is_degenerate(algorithm: KeyAlgorithm, key: bytes) -> bool:
    """All-zero keys, and 3DES keys with equal neighbouring parts (they collapse to DES)."""
    if not any(key):
        return True
    if algorithm is KeyAlgorithm.TDES:
        parts = [with_odd_parity(key[i : i + 8]) for i in range(0, len(key), 8)]
        return any(left == right for left, right in itertools.pairwise(parts))
    return False


def _normalise(algorithm: KeyAlgorithm, key: bytes) -> bytes:
    """DES and 3DES keys get odd parity (it never changes a DES result or a KCV)."""
    return with_odd_parity(key) if algorithm in _DES_FAMILY else key


def _kcv_matches(algorithm: KeyAlgorithm, key: bytes, expected: str | bytes) -> bool:
    """Compare ``expected`` (2 bytes up to a block, hex or bytes) with the key's KCV."""
    if isinstance(expected, str):
        try:
            expected = bytes.fromhex(expected)
        except ValueError:
            raise UsageError("a check value is hex digits", argument="kcv") from None
    if not 2 <= len(expected) <= algorithm.cipher.block_size:
        raise UsageError(
            f"a check value is 2 to {algorithm.cipher.block_size} bytes", argument="kcv"
        )
    return hmac.compare_digest(_kcv(algorithm.cipher, key, len(expected)), bytes(expected))


class KeyManagementMixin(HsmBase):
    """Key lifecycle operations of :class:`~zhifu.security.hsm.soft.SoftHsm`."""

    def _random_key(self, algorithm: KeyAlgorithm, length: int) -> bytes:
        while True:
            key = _normalise(algorithm, self._rng.bytes(length))
            if not _is_degenerate(algorithm, key):
                return key

    def generate_key(
        self,
        usage: KeyUsage,
        algorithm: KeyAlgorithm,
        *,
        length: int | None = None,
        exportable: bool | None = None,
        label: str = "",
    ) -> KeyHandle:
        """Generate a key inside the module and return its handle.

        ``length`` is in bytes for block ciphers (3DES: 16 double, 24 triple length), in bits
        for RSA; by default 3DES double length, AES-128, SM4, RSA-2048. ``exportable``
        (wrapped under a KEK) defaults to true for PIN, MAC, DATA and KEK keys and false for
        the others; SM2/RSA private keys are never exportable.
        """
        check_pair(usage, algorithm)
        size = algorithm.default_length if length is None else length
        _check_length(algorithm, size)
        if not algorithm.is_symmetric:
            if usage is not KeyUsage.SIGNING:
                raise UsageError(
                    "only SIGNING key pairs are generated; import public keys with "
                    "import_public_key",
                    argument="usage",
                )
            private, public, fingerprint = new_keypair(algorithm, size)
            return self._store_key(
                usage, algorithm, private, kcv=fingerprint, length=size, exportable=False,
                origin=KeyOrigin.GENERATED, label=label, public=public,
            )  # fmt: skip
        key = self._random_key(algorithm, size)
        return self._store_key(
            usage, algorithm, KeyMaterial(key), kcv=compute_kcv(algorithm, key), length=size,
            exportable=_default_exportable(usage, exportable), origin=KeyOrigin.GENERATED,
            label=label,
        )  # fmt: skip

    def generate_key_components(
        self,
        usage: KeyUsage,
        algorithm: KeyAlgorithm,
        *,
        count: int = 2,
        length: int | None = None,
        exportable: bool | None = None,
        label: str = "",
    ) -> ComponentSet:
        """Generate a new key as ``count`` (2 or 3) clear components, for dual-control printing.

        This is the only method that hands out clear key material, by design: each custodian
        receives one component and its check value. The key is stored (XOR of the
        components, odd parity for DES/3DES) and an audit line records the event and the
        check values, never the components.
        """
        check_pair(usage, algorithm)
        if not algorithm.is_symmetric:
            raise UsageError(
                "only block-cipher keys are split into components", argument="algorithm"
            )
        if count not in (2, 3):
            raise UsageError("a key is split into 2 or 3 components", argument="count")
        size = algorithm.default_length if length is None else length
        _check_length(algorithm, size)
        while True:
            parts = [self._random_key(algorithm, size) for _ in range(count)]
            key = parts[0]
            for part in parts[1:]:
                key = xor(key, part)
            key = _normalise(algorithm, key)
            if not _is_degenerate(algorithm, key):
                break
        components = tuple(KeyComponent(KeyMaterial(p), compute_kcv(algorithm, p)) for p in parts)
        kcv = compute_kcv(algorithm, key)
        handle = self._store_key(
            usage, algorithm, KeyMaterial(key), kcv=kcv, length=size,
            exportable=_default_exportable(usage, exportable), origin=KeyOrigin.COMPONENTS,
            label=label,
            detail=f"{count} components generated for printing; kcvs "
            + " ".join(c.kcv for c in components),
        )  # fmt: skip
        return ComponentSet(handle, components)

    def form_key_from_components(
        self,
        components: Sequence[KeyComponent],
        usage: KeyUsage,
        algorithm: KeyAlgorithm,
        *,
        kcv: str | bytes | None = None,
        exportable: bool | None = None,
        label: str = "",
    ) -> KeyHandle:
        """Form a key from 2 or 3 clear components entered separately (dual control).

        Each component is checked against its own check value, the key is their XOR (odd
        parity set for DES/3DES) and, when ``kcv`` is given, checked against it too. Any
        mismatch raises :class:`KcvMismatchError` naming the component's position; nothing
        is stored then.
        """
        check_pair(usage, algorithm)
        if not algorithm.is_symmetric:
            raise UsageError(
                "only block-cipher keys are formed from components", argument="algorithm"
            )
        if len(components) not in (2, 3):
            raise UsageError("a key is formed from 2 or 3 components", argument="components")
        size = len(components[0].material)
        _check_length(algorithm, size, "components")
        key = bytes(size)
        for position, component in enumerate(components, start=1):
            if len(component.material) != size:
                raise UsageError("all components have the same length", argument="components")
            part = component.material.reveal()
            if not _kcv_matches(algorithm, part, component.kcv):
                self._audit("form refused", "", f"component {position} check value mismatch")
                raise KcvMismatchError(
                    f"component {position} does not match its check value; nothing was stored"
                )
            key = xor(key, part)
        key = _normalise(algorithm, key)
        if _is_degenerate(algorithm, key):
            raise SecurityModuleError("the components form a degenerate key (zero or repeating)")
        if kcv is not None and not _kcv_matches(algorithm, key, kcv):
            self._audit("form refused", "", "key check value mismatch")
            raise KcvMismatchError("the formed key does not match the check value given")
        return self._store_key(
            usage, algorithm, KeyMaterial(key), kcv=compute_kcv(algorithm, key), length=size,
            exportable=_default_exportable(usage, exportable), origin=KeyOrigin.COMPONENTS,
            label=label, detail=f"formed from {len(components)} components",
        )  # fmt: skip

    def import_key_wrapped(
        self,
        wrapped: bytes,
        kek: HandleLike,
        usage: KeyUsage,
        algorithm: KeyAlgorithm,
        *,
        kcv: str | bytes,
        exportable: bool | None = None,
        label: str = "",
    ) -> KeyHandle:
        """Import a key enciphered (ECB) under the key-encryption key ``kek``.

        The clear key must match ``kcv`` (2 bytes up to a block, as bytes or hex); otherwise
        :class:`KcvMismatchError` is raised and nothing is stored.
        """
        check_pair(usage, algorithm)
        if not algorithm.is_symmetric:
            raise UsageError("only block-cipher keys are imported wrapped", argument="algorithm")
        _check_length(algorithm, len(wrapped), "wrapped")
        with self._use(kek, KeyUsage.KEK) as wrapping:
            cipher = wrapping.info.algorithm.cipher
            if len(wrapped) % cipher.block_size:
                raise UsageError(
                    f"a key wrapped under a {cipher.name} KEK is a multiple of "
                    f"{cipher.block_size} bytes",
                    argument="wrapped",
                )
            clear = decrypt_ecb(cipher, wrapping.clear, bytes(wrapped))
        if not _kcv_matches(algorithm, clear, kcv):
            self._audit("import refused", wrapping.id, "key check value mismatch")
            raise KcvMismatchError(
                f"the key unwrapped under {wrapping.id} does not match the check value given; "
                "nothing was stored"
            )
        return self._store_key(
            usage, algorithm, KeyMaterial(clear), kcv=compute_kcv(algorithm, clear),
            length=len(clear), exportable=_default_exportable(usage, exportable),
            origin=KeyOrigin.IMPORTED, label=label, detail=f"unwrapped under {wrapping.id}",
        )  # fmt: skip

    def export_key_wrapped(
        self, handle: HandleLike, kek: HandleLike, *, kcv_length: int = 3
    ) -> WrappedKey:
        """The key ``handle`` enciphered (ECB) under ``kek``, with its ``kcv_length``-byte KCV.

        Refused unless the key is exportable, is a block-cipher key, is not the KEK itself,
        and the KEK is at least as strong (NIST SP 800-57 bits) as the key.
        """
        if handle_id(handle) == handle_id(kek):
            raise UsageError("a key cannot be wrapped under itself", argument="kek")
        symmetric = [a for a in KeyAlgorithm if a.is_symmetric]
        with (
            self._use(handle, list(KeyUsage), symmetric) as key,
            self._use(kek, KeyUsage.KEK) as wrapping,
        ):
            if not key.info.exportable:
                raise KeyUsageError(key.id, "exportable", "non-exportable", what="export attribute")
            cipher = wrapping.info.algorithm.cipher
            if len(key.clear) % cipher.block_size:
                raise UsageError(
                    f"a {len(key.clear)}-byte key cannot be wrapped under a {cipher.name} KEK",
                    argument="kek",
                )
            key_bits = security_bits(key.info.algorithm, key.info.length)
            kek_bits = security_bits(wrapping.info.algorithm, wrapping.info.length)
            if kek_bits < key_bits:
                raise UsageError(
                    f"KEK {wrapping.id} ({kek_bits}-bit strength) is weaker than key "
                    f"{key.id} ({key_bits}-bit)",
                    argument="kek",
                )
            block = encrypt_ecb(cipher, wrapping.clear, key.clear)
            check = _kcv(key.info.algorithm.cipher, key.clear, kcv_length)
        self._audit("export", key.id, f"wrapped under {wrapping.id}")
        return WrappedKey(block, check)

    def delete_key(self, handle: HandleLike, *, reason: str = "") -> None:
        """Delete a key (the store overwrites its sealed bytes) and audit it, with ``reason``."""
        detail = reason or "deleted by caller"
        self._store.delete(handle_id(handle), detail=detail)
        audit_log.info("key deleted: %s (%s)", handle_id(handle), detail)

    def key_info(self, handle: HandleLike) -> KeyInfo:
        """Usage, algorithm, length, check value, origin, creation time: never the key."""
        return self._store.info(handle_id(handle))

    def list_keys(self) -> list[KeyInfo]:
        """Every key's :class:`KeyInfo`, oldest first."""
        return [self._store.info(h) for h in self._store.handles()]
