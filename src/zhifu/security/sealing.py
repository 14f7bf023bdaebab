"""Secrets sealed under the local master key (LMK) for the packages that keep key files of
their own (the barcode platform's master keys and notification keys): the security module's
side of :class:`zhifu.barcode.platform.sealing.SecretSealer`.

AES-256-GCM (``cryptography``) under a key derived from the LMK for this use only
(HMAC-SHA256 of the LMK over a fixed context, so these files never share a key with the key
store's rows), a fresh 96-bit nonce per seal, and the label as associated data: a sealed file
renamed to another label, changed, or opened under another LMK fails with an
:class:`~zhifu.security.errors.LmkError` saying which LMK to set. Sealed bytes are
``ZSEAL1`` + nonce + ciphertext and tag.

>>> from zhifu.security.secrets import KeyMaterial
>>> sealer = LmkSealer(KeyMaterial(bytes(range(32))))
>>> sealed = sealer.seal("zhifu-master.key", b"secret")
>>> sealed[:6], b"secret" in sealed, sealer.unseal("zhifu-master.key", sealed)
(b'ZSEAL1', False, b'secret')
>>> LmkSealer(KeyMaterial(bytes(32))).unseal("zhifu-master.key", sealed)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.security.errors.LmkError: zhifu-master.key was sealed under another LMK...
>>> sealer
LmkSealer(lmk=<32 bytes>)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zhifu.security.errors import LmkError
from zhifu.security.secrets import KeyMaterial
from zhifu.security.store import LMK_ENV, LMK_FILE_ENV, load_lmk

__all__ = ["LmkSealer"]

MAGIC: Final = b"ZSEAL1"
_CONTEXT: Final = b"zhifu sealed files v1"
_NONCE: Final = 12


class LmkSealer:
    """Seals and unseals labelled secrets under the LMK (see the module docstring)."""

    def __init__(self, lmk: KeyMaterial) -> None:
        if len(lmk) != 32:
            raise LmkError(f"the LMK is 32 bytes (64 hex digits), not {len(lmk)}")
        key = hmac.new(lmk.reveal(), _CONTEXT, hashlib.sha256).digest()
        self._aead = AESGCM(key)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> LmkSealer:
        """The sealer of the LMK in ``ZHIFU_LMK`` or the file named by ``ZHIFU_LMK_FILE``."""
        return cls(load_lmk(environ))

    def __repr__(self) -> str:
        return "LmkSealer(lmk=<32 bytes>)"

    def seal(self, label: str, clear: bytes) -> bytes:
        """``clear`` sealed for ``label``."""
        nonce = secrets.token_bytes(_NONCE)
        return MAGIC + nonce + self._aead.encrypt(nonce, bytes(clear), _aad(label))

    def unseal(self, label: str, sealed: bytes) -> bytes:
        """The clear bytes; :class:`LmkError` when they cannot be authenticated."""
        if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + _NONCE + 16:
            raise LmkError(f"{label} is not a file sealed by zhifu (no ZSEAL1 header)")
        nonce = sealed[len(MAGIC) : len(MAGIC) + _NONCE]
        try:
            return self._aead.decrypt(nonce, sealed[len(MAGIC) + _NONCE :], _aad(label))
        except InvalidTag:
            raise LmkError(
                f"{label} was sealed under another LMK, for another file, or has been changed;"
                f" set {LMK_ENV} or {LMK_FILE_ENV} to the LMK it was sealed with"
            ) from None


def _aad(label: str) -> bytes:
    return _CONTEXT + b"\n" + label.encode("utf-8")
