"""Block ciphers DES, 3DES (2- and 3-key), AES and SM4 in ECB and CBC mode.

All go through ``cryptography`` (OpenSSL). TripleDES always receives a 24-byte key: a single
DES key K becomes K‖K‖K and a double-length key KL‖KR becomes KL‖KR‖KL, so nothing breaks when
``cryptography`` removes the short key forms. No padding is applied: data must be a multiple
of the block size (padding belongs to the MAC and PIN-block layers, which follow standards).

>>> key = bytes.fromhex("0123456789ABCDEF")
>>> encrypt_ecb(Cipher.DES, key, b"Now is t").hex().upper()   # FIPS 81 / T13
'3FA40E8A984D4815'
>>> k = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> encrypt_ecb(Cipher.SM4, k, k).hex().upper()                  # GB/T 32907 / T03
'681EDF34D206965E86B3E94F536E4246'
"""

from __future__ import annotations

import enum

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher as _OsslCipher
from cryptography.hazmat.primitives.ciphers import CipherAlgorithm, algorithms, modes

from zhifu.core.errors import UsageError
from zhifu.crypto.errors import InvalidKeyError


class Cipher(enum.Enum):
    """A block cipher family; the value is the name used on the command line."""

    DES = "des"
    TDES = "3des"
    AES = "aes"
    SM4 = "sm4"

    @property
    def block_size(self) -> int:
        """Block size in bytes: 8 for DES/3DES, 16 for AES/SM4."""
        return 8 if self in (Cipher.DES, Cipher.TDES) else 16

    @property
    def key_sizes(self) -> tuple[int, ...]:
        """The key lengths in bytes the cipher accepts."""
        return _KEY_SIZES[self]

    @staticmethod
    def parse(name: str) -> Cipher:
        """Parse ``des``, ``3des`` (or ``tdes``), ``aes``, ``sm4`` case-insensitively."""
        norm = name.strip().lower()
        norm = {"tdes": "3des", "tripledes": "3des", "des3": "3des"}.get(norm, norm)
        try:
            return Cipher(norm)
        except ValueError:
            raise UsageError(
                f"unknown cipher {name!r}; expected des, 3des, aes or sm4", argument="cipher"
            ) from None


_KEY_SIZES = {
    Cipher.DES: (8,),
    Cipher.TDES: (16, 24),
    Cipher.AES: (16, 24, 32),
    Cipher.SM4: (16,),
}


def check_key(cipher: Cipher, key: bytes) -> None:
    """Raise :class:`InvalidKeyError` unless ``key`` has a length ``cipher`` accepts."""
    if len(key) not in _KEY_SIZES[cipher]:
        sizes = " or ".join(str(n) for n in _KEY_SIZES[cipher])
        raise InvalidKeyError(
            f"a {cipher.value} key is {sizes} bytes, not {len(key)}", argument="key"
        )


def expand_tdes_key(key: bytes) -> bytes:
    """A DES or 2-key 3DES key as the 24-byte 3-key form (K‖K‖K or KL‖KR‖KL)."""
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise InvalidKeyError(f"a 3DES key is 8, 16 or 24 bytes, not {len(key)}", argument="key")


def _algorithm(cipher: Cipher, key: bytes) -> CipherAlgorithm:
    # Deliberately not cached: a cache keyed by clear key bytes would keep keys alive in
    # memory after the security module deleted them (measured: no speed difference).
    check_key(cipher, key)
    if cipher in (Cipher.DES, Cipher.TDES):
        return TripleDES(expand_tdes_key(key))
    if cipher is Cipher.AES:
        return algorithms.AES(key)
    return algorithms.SM4(key)


def _check_data(cipher: Cipher, data: bytes, what: str = "data") -> None:
    if len(data) % cipher.block_size:
        raise UsageError(
            f"{what} must be a multiple of {cipher.block_size} bytes, not {len(data)}",
            argument=what,
        )


def _iv(cipher: Cipher, iv: bytes | None) -> bytes:
    if iv is None:
        return bytes(cipher.block_size)
    if len(iv) != cipher.block_size:
        raise UsageError(
            f"the IV of {cipher.value} is {cipher.block_size} bytes, not {len(iv)}", argument="iv"
        )
    return iv


def encrypt_ecb(cipher: Cipher, key: bytes, data: bytes) -> bytes:
    """Encrypt ``data`` (a multiple of the block size) in ECB mode."""
    _check_data(cipher, data)
    enc = _OsslCipher(_algorithm(cipher, bytes(key)), modes.ECB()).encryptor()  # noqa: S305 - ECB is what the payment standards define
    return enc.update(data) + enc.finalize()


def decrypt_ecb(cipher: Cipher, key: bytes, data: bytes) -> bytes:
    """Decrypt ``data`` (a multiple of the block size) in ECB mode."""
    _check_data(cipher, data)
    dec = _OsslCipher(_algorithm(cipher, bytes(key)), modes.ECB()).decryptor()  # noqa: S305 - ECB is what the payment standards define
    return dec.update(data) + dec.finalize()


def encrypt_cbc(cipher: Cipher, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """Encrypt in CBC mode; the IV defaults to zeros (the payment-industry habit)."""
    _check_data(cipher, data)
    enc = _OsslCipher(_algorithm(cipher, bytes(key)), modes.CBC(_iv(cipher, iv))).encryptor()
    return enc.update(data) + enc.finalize()


def decrypt_cbc(cipher: Cipher, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """Decrypt in CBC mode; the IV defaults to zeros."""
    _check_data(cipher, data)
    dec = _OsslCipher(_algorithm(cipher, bytes(key)), modes.CBC(_iv(cipher, iv))).decryptor()
    return dec.update(data) + dec.finalize()


def xor(a: bytes, b: bytes) -> bytes:
    """XOR two byte strings of equal length.

    >>> xor(b"\\x0f\\xf0", b"\\xff\\xff").hex()
    'f00f'
    """
    if len(a) != len(b):
        raise UsageError(f"cannot XOR {len(a)} bytes with {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")
