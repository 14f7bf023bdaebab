"""Key vocabulary of the security module: usages, algorithms, handles and key metadata.

A caller of :class:`~zhifu.security.hsm.soft.SoftHsm` never holds a key, only a :class:`KeyHandle`:
an opaque id plus what may be shown about the key (usage, algorithm, key check value).

>>> handle = KeyHandle("K-3f2a9c01d4e5b6a7", KeyUsage.PIN, KeyAlgorithm.TDES, "08D7B4")
>>> handle
KeyHandle('K-3f2a9c01d4e5b6a7', usage=PIN, algorithm=TDES, kcv='08D7B4')
>>> str(handle)
'K-3f2a9c01d4e5b6a7'
>>> KeyAlgorithm.parse("3des").cipher
<Cipher.TDES: '3des'>
>>> compute_kcv(KeyAlgorithm.TDES, bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"))
'08D7B4'
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.hashes import Hash, digest
from zhifu.crypto.kcv import kcv

__all__ = [
    "KeyAlgorithm",
    "KeyHandle",
    "KeyInfo",
    "KeyOrigin",
    "KeyUsage",
    "compute_kcv",
    "new_handle_id",
    "public_key_kcv",
    "security_bits",
    "with_odd_parity",
]


class KeyUsage(enum.Enum):
    """What a key may be used for; every operation of the security module checks it.

    The value is the stored and command-line name. Payment names in brackets.
    """

    PIN = "pin"
    """PIN-block encryption (TPK/PIK at the terminal, ZPK between hosts)."""
    MAC = "mac"
    """Message authentication (TAK/MAK, ZAK)."""
    DATA = "data"
    """Data encryption (TDK track-data key, ZEK)."""
    KEK = "kek"
    """Key encryption: wraps other keys for transport (TMK terminal master key, ZMK)."""
    CARD_MASTER = "card-master"
    """Issuer master key (IMK / MDK) from which card keys (UDKs) are derived."""
    CARD = "card"
    """A card's own master key (ICC MK / UDK, MK-AC) derived from an IMK: ARQC and ARPC."""
    PVK = "pvk"
    """PIN verification key: keys the PIN verification value kept by the issuer."""
    CVK = "cvk"
    """Card verification key pair (CVK A ‖ CVK B): the CVN of a magnetic stripe."""
    SIGNING = "signing"
    """An SM2 or RSA private key (its public half may be read)."""
    VERIFICATION = "verification"
    """An SM2 or RSA public key of another party, imported to verify its signatures."""

    @staticmethod
    def parse(name: str) -> KeyUsage:
        """Parse a usage name (``pin``, ``mac``, ``card-master`` ...) case-insensitively."""
        norm = name.strip().lower().replace("_", "-")
        try:
            return KeyUsage(norm)
        except ValueError:
            names = ", ".join(u.value for u in KeyUsage)
            raise UsageError(
                f"unknown key usage {name!r}; one of {names}", argument="usage"
            ) from None


class KeyAlgorithm(enum.Enum):
    """The algorithm a key belongs to; the value is the stored and command-line name."""

    DES = "des"
    TDES = "3des"
    AES = "aes"
    SM4 = "sm4"
    SM2 = "sm2"
    RSA = "rsa"

    @property
    def is_symmetric(self) -> bool:
        """True for the block ciphers DES, 3DES, AES and SM4."""
        return self in _CIPHERS

    @property
    def cipher(self) -> Cipher:
        """The :class:`~zhifu.crypto.cipher.Cipher` of a symmetric algorithm."""
        try:
            return _CIPHERS[self]
        except KeyError:
            raise UsageError(f"{self.name} is not a block cipher", argument="algorithm") from None

    @property
    def key_lengths(self) -> tuple[int, ...]:
        """Accepted key lengths: bytes for block ciphers, bits for RSA, (32,) for SM2."""
        return _LENGTHS[self]

    @property
    def default_length(self) -> int:
        """The length used when none is given: 3DES double length, AES-128, RSA-2048."""
        return _DEFAULT_LENGTHS[self]

    @staticmethod
    def parse(name: str) -> KeyAlgorithm:
        """Parse ``des``, ``3des``/``tdes``, ``aes``, ``sm4``, ``sm2``, ``rsa``."""
        norm = name.strip().lower()
        norm = {"tdes": "3des", "tripledes": "3des", "des3": "3des"}.get(norm, norm)
        try:
            return KeyAlgorithm(norm)
        except ValueError:
            raise UsageError(
                f"unknown key algorithm {name!r}; one of des, 3des, aes, sm4, sm2, rsa",
                argument="algorithm",
            ) from None


_CIPHERS = {
    KeyAlgorithm.DES: Cipher.DES,
    KeyAlgorithm.TDES: Cipher.TDES,
    KeyAlgorithm.AES: Cipher.AES,
    KeyAlgorithm.SM4: Cipher.SM4,
}
_LENGTHS = {
    KeyAlgorithm.DES: (8,),
    KeyAlgorithm.TDES: (16, 24),
    KeyAlgorithm.AES: (16, 24, 32),
    KeyAlgorithm.SM4: (16,),
    KeyAlgorithm.SM2: (32,),
    KeyAlgorithm.RSA: (1024, 2048, 3072, 4096),
}
_DEFAULT_LENGTHS = {
    KeyAlgorithm.DES: 8,
    KeyAlgorithm.TDES: 16,
    KeyAlgorithm.AES: 16,
    KeyAlgorithm.SM4: 16,
    KeyAlgorithm.SM2: 32,
    KeyAlgorithm.RSA: 2048,
}


class KeyOrigin(enum.Enum):
    """How a key came into the security module."""

    GENERATED = "generated"
    IMPORTED = "imported"
    COMPONENTS = "components"
    DERIVED = "derived"


@dataclass(frozen=True)
class KeyHandle:
    """An opaque reference to a key inside the security module.

    ``kcv`` is the key check value (6 hex digits) of a symmetric key, or a public-key
    fingerprint for SM2/RSA (see :func:`public_key_kcv`). The security module trusts only
    ``id``: usage and algorithm are always re-read from its own store.
    """

    id: str
    usage: KeyUsage
    algorithm: KeyAlgorithm
    kcv: str

    def __repr__(self) -> str:
        return (
            f"KeyHandle({self.id!r}, usage={self.usage.name}, "
            f"algorithm={self.algorithm.name}, kcv={self.kcv!r})"
        )

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class KeyInfo:
    """What the security module tells about a key: everything but the key.

    ``length`` is in bytes for block ciphers and SM2, in bits for RSA.
    """

    handle: KeyHandle
    length: int
    exportable: bool
    origin: KeyOrigin
    created: datetime
    label: str = ""

    @property
    def usage(self) -> KeyUsage:
        """The key's usage."""
        return self.handle.usage

    @property
    def algorithm(self) -> KeyAlgorithm:
        """The key's algorithm."""
        return self.handle.algorithm

    @property
    def kcv(self) -> str:
        """The key check value (or public-key fingerprint), 6 hex digits."""
        return self.handle.kcv


_LONG_DIGIT_RUN = re.compile(r"\d{13}")


def new_handle_id() -> str:
    """A fresh random handle id: ``K-`` and 16 hex digits (64 bits from the OS CSPRNG).

    Ids with a run of 13 digits are skipped so that log redaction never mistakes one for a PAN.

    >>> new_handle_id().startswith("K-")
    True
    """
    while True:
        candidate = secrets.token_hex(8)
        if not _LONG_DIGIT_RUN.search(candidate):
            return f"K-{candidate}"


def with_odd_parity(key: bytes) -> bytes:
    """``key`` with the low bit of each byte set so every byte has odd parity (DES keys).

    >>> with_odd_parity(bytes.fromhex("0022")).hex()
    '0123'
    """
    return bytes(b ^ (0 if bin(b).count("1") % 2 else 1) for b in key)


def compute_kcv(algorithm: KeyAlgorithm, key: bytes, length: int = 3) -> str:
    """The key check value of a clear symmetric key: E(K, zero block), uppercase hex."""
    return kcv(algorithm.cipher, key, length).hex().upper()


def public_key_kcv(algorithm: KeyAlgorithm, public_key: bytes) -> str:
    """A 3-byte fingerprint of a public key: SM3 (SM2) or SHA-256 (RSA) of its encoding.

    >>> public_key_kcv(KeyAlgorithm.RSA, b"")
    'E3B0C4'
    """
    alg = Hash.SM3 if algorithm is KeyAlgorithm.SM2 else Hash.SHA256
    return digest(alg, public_key)[:3].hex().upper()


def security_bits(algorithm: KeyAlgorithm, length: int) -> int:
    """Security strength of a symmetric key in bits (NIST SP 800-57 part 1 table 2).

    Used to refuse wrapping a key under a weaker key-encryption key.

    >>> security_bits(KeyAlgorithm.TDES, 16), security_bits(KeyAlgorithm.AES, 32)
    (80, 256)
    """
    if algorithm is KeyAlgorithm.DES:
        return 56
    if algorithm is KeyAlgorithm.TDES:
        return 80 if length == 16 else 112
    if algorithm in (KeyAlgorithm.AES, KeyAlgorithm.SM4):
        return length * 8
    raise UsageError(f"{algorithm.name} is not a block cipher", argument="algorithm")
