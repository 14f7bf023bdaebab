"""Key check values (KCV): a short, one-way fingerprint that shows two parties hold the same key.

Two methods (ANSI X9.24-1:2017, PCI PIN requirement 15-1):

``"encrypt-zeros"`` (the classic one, the default)
    the leftmost bytes of E(K, zero block): 8 zero bytes for DES/3DES, 16 for AES/SM4.
    This is what UnionPay POS sign-on (field 62 check values) and PBOC tools use.
``"cmac"``
    the leftmost bytes of CMAC(K, zero block) (NIST SP 800-38B / ISO/IEC 9797-1 algorithm 5),
    the only method X9.24-1:2017 allows for AES keys; also defined here for 3DES and SM4.

>>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> kcv(Cipher.TDES, key).hex().upper()                    # docs/standards/card-terminal.md T15
'08D7B4'
>>> kcv(Cipher.SM4, key, 4).hex().upper()                  # docs/standards/card-terminal.md T05
'2677F46B'
"""

from __future__ import annotations

from typing import Literal

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, encrypt_ecb

__all__ = ["KcvMethod", "kcv"]

KcvMethod = Literal["encrypt-zeros", "cmac"]

# The constant R_b of the CMAC subkey doubling for 64- and 128-bit blocks (SP 800-38B 5.3).
_CMAC_RB = {8: 0x1B, 16: 0x87}


def kcv(
    cipher: Cipher,
    key: bytes,
    length: int = 3,
    *,
    method: KcvMethod = "encrypt-zeros",
) -> bytes:
    """The key check value of ``key``: the leftmost ``length`` bytes (1 to the block size).

    Parameters
    ----------
    cipher
        The block cipher the key belongs to; ``Cipher.DES`` is single-length DES.
    key
        The clear key, of a length ``cipher`` accepts (else :class:`InvalidKeyError`).
    length
        Number of bytes kept: 3 is the usual display form, 2 in EMV tests, 4 in POS sign-on.
    method
        ``"encrypt-zeros"`` (default) or ``"cmac"``.

    >>> kcv(Cipher.DES, bytes.fromhex("2222222222222222"), 8).hex().upper()   # T23
    '00962B60AA556E65'
    >>> kcv(Cipher.AES, bytes(16), 5, method="cmac").hex().upper()
    '763CBCDE81'
    """
    if isinstance(length, bool) or not isinstance(length, int):
        raise UsageError("the KCV length must be an integer", argument="length")
    if not 1 <= length <= cipher.block_size:
        raise UsageError(
            f"a {cipher.value} KCV is 1 to {cipher.block_size} bytes, not {length}",
            argument="length",
        )
    zeros = bytes(cipher.block_size)
    if method == "encrypt-zeros":
        return encrypt_ecb(cipher, key, zeros)[:length]
    if method == "cmac":
        return _cmac_of_zero_block(cipher, key)[:length]
    raise UsageError(
        f"unknown KCV method {method!r}; expected 'encrypt-zeros' or 'cmac'", argument="method"
    )


def _cmac_of_zero_block(cipher: Cipher, key: bytes) -> bytes:
    """CMAC (SP 800-38B) of one all-zero block.

    A single complete block M is MACed as E(K, M XOR K1) with K1 the doubled E(K, 0); with M = 0
    that is E(K, K1).
    """
    size = cipher.block_size
    ell = encrypt_ecb(cipher, key, bytes(size))
    return encrypt_ecb(cipher, key, _double(ell, _CMAC_RB[size]))


def _double(block: bytes, rb: int) -> bytes:
    """Multiply ``block`` by x in GF(2^n) (the CMAC subkey step): shift left, reduce by R_b."""
    bits = len(block) * 8
    value = int.from_bytes(block, "big") << 1
    if value >> bits:
        value = (value ^ rb) & ((1 << bits) - 1)
    return value.to_bytes(len(block), "big")
