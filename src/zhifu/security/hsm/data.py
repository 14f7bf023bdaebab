"""Data encryption and MACs of the security module (DATA and MAC keys only).

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> mak = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.TDES)
>>> mac = hsm.generate_mac(mak, b"0200 purchase MAB", MacAlgorithm.X9_19)
>>> len(mac), hsm.verify_mac(mak, b"0200 purchase MAB", mac, MacAlgorithm.X9_19)
(8, True)
>>> hsm.verify_mac(mak, b"0200 purchase MAC", mac, MacAlgorithm.X9_19)
False
"""

from __future__ import annotations

import enum
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from zhifu.core.errors import UsageError
from zhifu.crypto import hashes
from zhifu.crypto import mac as _mac
from zhifu.crypto.cipher import decrypt_cbc, decrypt_ecb, encrypt_cbc, encrypt_ecb
from zhifu.crypto.mac import Padding
from zhifu.security.errors import KeyUsageError, SecurityModuleError
from zhifu.security.hsm.base import HandleLike, HsmBase, LoadedKey
from zhifu.security.keys import KeyAlgorithm, KeyUsage

__all__ = ["DataMixin", "DataMode", "MacAlgorithm"]

_DES, _TDES, _AES, _SM4 = KeyAlgorithm.DES, KeyAlgorithm.TDES, KeyAlgorithm.AES, KeyAlgorithm.SM4


class DataMode(enum.Enum):
    """Block cipher mode for :meth:`DataMixin.encrypt_data` (no padding is applied)."""

    ECB = "ecb"
    CBC = "cbc"


class MacAlgorithm(enum.Enum):
    """The MAC algorithms of the payment world (docs/standards/card-terminal.md §2.8)."""

    X9_9 = "x9.9"
    """ANSI X9.9: single-DES CBC-MAC, zero padding (DES key), 8 bytes."""
    X9_19 = "x9.19"
    """ANSI X9.19 retail MAC = ISO/IEC 9797-1 algorithm 3, zero padding (3DES key), 8 bytes."""
    ISO9797_1_ALG_1 = "iso9797-1-1"
    """ISO/IEC 9797-1 algorithm 1 (CBC-MAC) with any block cipher; a full block."""
    ISO9797_1_ALG_3 = "iso9797-1-3"
    """ISO/IEC 9797-1 algorithm 3 (3DES key), 8 bytes."""
    CUP_ECB = "cup-ecb"
    """UnionPay POS "ECB" MAC (DES, 3DES or SM4 MAK): 8 ASCII hex characters."""
    PBOC = "pboc"
    """PBOC MAC: padding method 2, 3DES algorithm 3 or SM4/DES CBC-MAC, 8 bytes."""

    @property
    def key_algorithms(self) -> tuple[KeyAlgorithm, ...]:
        """The key algorithms this MAC accepts."""
        return _MAC_KEYS[self]


_MAC_KEYS = {
    MacAlgorithm.X9_9: (_DES,),
    MacAlgorithm.X9_19: (_TDES,),
    MacAlgorithm.ISO9797_1_ALG_1: (_DES, _TDES, _AES, _SM4),
    MacAlgorithm.ISO9797_1_ALG_3: (_TDES,),
    MacAlgorithm.CUP_ECB: (_DES, _TDES, _SM4),
    MacAlgorithm.PBOC: (_DES, _TDES, _SM4),
}
_MIN_MAC_LENGTH = 4


def _compute_mac(key: LoadedKey, data: bytes, algorithm: MacAlgorithm, padding: Padding) -> bytes:
    cipher = key.info.algorithm.cipher
    if algorithm is MacAlgorithm.X9_9:
        return _mac.mac_x9_9(key.clear, data)
    if algorithm is MacAlgorithm.X9_19:
        return _mac.mac_x9_19(key.clear, data)
    if algorithm is MacAlgorithm.ISO9797_1_ALG_1:
        return _mac.mac_iso9797_1_alg_1(cipher, key.clear, data, padding)
    if algorithm is MacAlgorithm.ISO9797_1_ALG_3:
        return _mac.mac_iso9797_1_alg_3(key.clear, data, padding)
    if algorithm is MacAlgorithm.CUP_ECB:
        return _mac.mac_cup_ecb(cipher, key.clear, data)
    return _mac.mac_pboc(cipher, key.clear, data, 8)


class DataMixin(HsmBase):
    """Data encryption and MAC operations of :class:`~zhifu.security.hsm.soft.SoftHsm`."""

    def encrypt_data(
        self,
        handle: HandleLike,
        data: bytes,
        *,
        mode: DataMode = DataMode.ECB,
        iv: bytes | None = None,
    ) -> bytes:
        """Encrypt ``data`` (a multiple of the block size) under a DATA key."""
        return self._crypt_data(handle, data, mode, iv, encrypt=True)

    def decrypt_data(
        self,
        handle: HandleLike,
        data: bytes,
        *,
        mode: DataMode = DataMode.ECB,
        iv: bytes | None = None,
    ) -> bytes:
        """Decrypt ``data`` (a multiple of the block size) under a DATA key."""
        return self._crypt_data(handle, data, mode, iv, encrypt=False)

    def _crypt_data(
        self, handle: HandleLike, data: bytes, mode: DataMode, iv: bytes | None, *, encrypt: bool
    ) -> bytes:
        with self._use(handle, KeyUsage.DATA) as key:
            cipher = key.info.algorithm.cipher
            if mode is DataMode.CBC:
                cbc = encrypt_cbc if encrypt else decrypt_cbc
                return cbc(cipher, key.clear, bytes(data), iv)
            _no_iv(iv)
            ecb = encrypt_ecb if encrypt else decrypt_ecb
            return ecb(cipher, key.clear, bytes(data))

    def seal_gcm(self, handle: HandleLike, clear: bytes, aad: bytes = b"") -> bytes:
        """Authenticated encryption under an AES or SM4 DATA key (AES-GCM / SM4-GCM): a fresh
        96-bit nonce, then the ciphertext, then the 16-byte tag; ``aad`` is bound, not sent."""
        with self._use(handle, KeyUsage.DATA) as key:
            return _gcm(key, clear, aad, encrypt=True)

    def open_gcm(self, handle: HandleLike, sealed: bytes, aad: bytes = b"") -> bytes:
        """The clear bytes of :meth:`seal_gcm`'s output. A changed
        ciphertext, another key or another ``aad`` is refused (``SecurityModuleError``)."""
        with self._use(handle, KeyUsage.DATA) as key:
            return _gcm(key, sealed, aad, encrypt=False)

    def generate_hmac_sm3(self, handle: HandleLike, data: bytes) -> bytes:
        """HMAC-SM3 (32 bytes) of ``data`` under a MAC key used as the HMAC key (its 16 or more
        bytes), for chains of records such as the audit trail."""
        with self._use(handle, KeyUsage.MAC) as key:
            return hashes.hmac(hashes.Hash.SM3, key.clear, bytes(data))

    def generate_mac(
        self,
        handle: HandleLike,
        data: bytes,
        algorithm: MacAlgorithm = MacAlgorithm.X9_19,
        *,
        padding: Padding = Padding.METHOD_1,
    ) -> bytes:
        """The MAC of ``data`` under a MAC key.

        ``padding`` applies to the two ISO/IEC 9797-1 algorithms; the others fix their own.
        """
        with self._use(handle, KeyUsage.MAC, algorithm.key_algorithms) as key:
            if algorithm in (MacAlgorithm.X9_19, MacAlgorithm.ISO9797_1_ALG_3):
                _double_length(key)
            return _compute_mac(key, bytes(data), algorithm, padding)

    def verify_mac(
        self,
        handle: HandleLike,
        data: bytes,
        mac: bytes,
        algorithm: MacAlgorithm = MacAlgorithm.X9_19,
        *,
        padding: Padding = Padding.METHOD_1,
    ) -> bool:
        """True when ``mac`` (its leftmost 4 or more bytes) is the MAC of ``data``.

        The comparison is constant-time.
        """
        if len(mac) < _MIN_MAC_LENGTH:
            raise UsageError(f"a MAC to verify is at least {_MIN_MAC_LENGTH} bytes", argument="mac")
        expected = self.generate_mac(handle, data, algorithm, padding=padding)
        if len(mac) > len(expected):
            return False
        return hmac.compare_digest(expected[: len(mac)], bytes(mac))


def _gcm(key: LoadedKey, data: bytes, aad: bytes, *, encrypt: bool) -> bytes:
    algorithm = key.info.algorithm
    if algorithm not in {_AES, _SM4}:
        raise KeyUsageError(key.info.handle.id, "aes or sm4", algorithm.value, what="algorithm")
    block = algorithms.AES(key.clear) if algorithm is _AES else algorithms.SM4(key.clear)
    if encrypt:
        nonce = secrets.token_bytes(12)
        enc = Cipher(block, modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        return nonce + enc.update(bytes(data)) + enc.finalize() + enc.tag
    if len(data) < 28:
        raise SecurityModuleError("a GCM-sealed value is at least 28 bytes (nonce and tag)")
    dec = Cipher(block, modes.GCM(data[:12], data[-16:])).decryptor()
    dec.authenticate_additional_data(aad)
    try:
        return dec.update(bytes(data[12:-16])) + dec.finalize()
    except InvalidTag:
        raise SecurityModuleError(
            "the sealed value does not authenticate (changed, another key, or another field)"
        ) from None


def _no_iv(iv: bytes | None) -> None:
    if iv is not None:
        raise UsageError("ECB mode takes no IV", argument="iv")


def _double_length(key: LoadedKey) -> None:
    """ISO/IEC 9797-1 algorithm 3 (and X9.19) is defined for double-length keys only."""
    if key.info.length != 16:
        raise KeyUsageError(key.id, "16 bytes", f"{key.info.length} bytes", what="length")
