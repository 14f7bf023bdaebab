"""Hash functions SM3 (GB/T 32905), SHA-1 and SHA-256, and HMAC (RFC 2104) over them.

SM3 comes from ``hashlib`` when the linked OpenSSL provides it, otherwise from ``cryptography``
(whose wheels always bundle it); both give the same bytes.

>>> sm3(b"abc").hex().upper()[:16]                      # GB/T 32905 annex A / T01
'66C7F0F462EEEDD9'
>>> digest(Hash.parse("sha-256"), b"abc").hex()[:16]
'ba7816bf8f01cfea'
>>> hmac(Hash.SHA256, b"Jefe", b"what do ya want for nothing?").hex()[:16]   # RFC 4231 case 2
'5bdcc146bf60754e'
"""

from __future__ import annotations

import enum
import hashlib
import hmac as _hmac

from cryptography.hazmat.primitives import hashes as _ossl_hashes
from cryptography.hazmat.primitives import hmac as _ossl_hmac

from zhifu.core.errors import UsageError

__all__ = ["Hash", "digest", "hmac", "sm3"]


class Hash(enum.Enum):
    """A hash algorithm; the value is the canonical name (also the ``hashlib`` name)."""

    SM3 = "sm3"
    SHA1 = "sha1"
    SHA256 = "sha256"

    @property
    def digest_size(self) -> int:
        """Output length in bytes: 32 for SM3 and SHA-256, 20 for SHA-1."""
        return 20 if self is Hash.SHA1 else 32

    @property
    def block_size(self) -> int:
        """Input block length in bytes (64 for all three), as used by HMAC."""
        return 64

    @staticmethod
    def parse(name: str) -> Hash:
        """Parse ``sm3``, ``sha1``/``sha-1`` or ``sha256``/``sha-256``, ignoring case.

        >>> Hash.parse("SHA-1")
        <Hash.SHA1: 'sha1'>
        """
        norm = name.strip().lower().replace("-", "").replace("_", "")
        try:
            return Hash(norm)
        except ValueError:
            raise UsageError(
                f"unknown hash {name!r}; expected sm3, sha1 or sha256", argument="hash"
            ) from None


def _hashlib_has_sm3() -> bool:
    try:
        return hashlib.new("sm3", b"abc").hexdigest().startswith("66c7f0f4")
    except ValueError:
        return False


_HASHLIB_SM3 = _hashlib_has_sm3()


def digest(alg: Hash, data: bytes) -> bytes:
    """The hash of ``data`` under ``alg``."""
    if alg is Hash.SM3 and not _HASHLIB_SM3:
        ctx = _ossl_hashes.Hash(_ossl_hashes.SM3())
        ctx.update(bytes(data))
        return ctx.finalize()
    return hashlib.new(alg.value, bytes(data)).digest()


def sm3(data: bytes) -> bytes:
    """The 32-byte SM3 hash of ``data`` (GB/T 32905-2016)."""
    return digest(Hash.SM3, data)


def hmac(alg: Hash, key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104 / ISO/IEC 9797-2 MAC algorithm 2) of ``data`` under ``key`` with ``alg``.

    Any key length is accepted, as RFC 2104 allows (keys longer than the block are hashed).

    >>> hmac(Hash.SM3, b"key", b"abc").hex()[:16]
    '28e63256e7c5a087'
    """
    if alg is Hash.SM3 and not _HASHLIB_SM3:
        ctx = _ossl_hmac.HMAC(bytes(key), _ossl_hashes.SM3())
        ctx.update(bytes(data))
        return ctx.finalize()
    return _hmac.digest(bytes(key), bytes(data), alg.value)
