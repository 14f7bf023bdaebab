"""Message authentication codes of the payment world: ISO/IEC 9797-1, ANSI X9.9/X9.19,
the UnionPay POS "ECB" MAC and the PBOC MAC.

Every function returns the MAC as bytes; comparing a received MAC is the caller's job and must
use :func:`hmac.compare_digest`. Nothing here puts key or data bytes into an error message.

>>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> data = b"Now is the time for all "
>>> # docs/standards/card-terminal.md T17 / ANSI X9.19
>>> mac_x9_19(key, data).hex().upper()
'A1C72E74EA3FA9B6'
>>> mac_iso9797_1_alg_3(key, data, Padding.METHOD_2).hex().upper()    # T18
'E9086230CA3BE796'
>>> mac_cup_ecb(Cipher.DES, bytes.fromhex("2222222222222222"),
...             bytes.fromhex("1234567890ABCDEFABCDEF1234567890"))    # T22
b'E267B6E2'
"""

from __future__ import annotations

import enum

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, check_key, encrypt_cbc, encrypt_ecb, xor
from zhifu.crypto.errors import CryptoError

__all__ = [
    "Padding",
    "mac_cup_ecb",
    "mac_iso9797_1_alg_1",
    "mac_iso9797_1_alg_3",
    "mac_pboc",
    "mac_x9_9",
    "mac_x9_19",
    "pad",
    "pad_iso9797_1_method_1",
    "pad_iso9797_1_method_2",
    "unpad_iso9797_1_method_2",
]


class Padding(enum.Enum):
    """ISO/IEC 9797-1 padding methods (clause 6.3)."""

    METHOD_1 = 1
    """Zeros up to the block boundary; nothing added to aligned data; empty data → one block."""
    METHOD_2 = 2
    """A mandatory ``80`` byte, then zeros up to the block boundary (= ISO/IEC 7816-4)."""


def _check_block(block: int) -> None:
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise UsageError("the block size must be a positive integer", argument="block")


def pad_iso9797_1_method_1(data: bytes, block: int = 8) -> bytes:
    """ISO/IEC 9797-1 padding method 1: append zeros up to a multiple of ``block`` bytes.

    Aligned data is left alone; empty data becomes one zero block (ISO/IEC 9797-1:2011 6.3.1).

    >>> pad_iso9797_1_method_1(bytes.fromhex("1234")).hex().upper()
    '1234000000000000'
    >>> pad_iso9797_1_method_1(b"").hex()
    '0000000000000000'
    """
    _check_block(block)
    if not data:
        return bytes(block)
    return bytes(data) + bytes(-len(data) % block)


def pad_iso9797_1_method_2(data: bytes, block: int = 8) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append ``80`` then zeros to a multiple of ``block``.

    The ``80`` byte is always added, so aligned data grows by a whole block.

    >>> pad_iso9797_1_method_2(bytes.fromhex("1234")).hex().upper()
    '1234800000000000'
    >>> pad_iso9797_1_method_2(bytes(8)).hex().upper()
    '00000000000000008000000000000000'
    """
    _check_block(block)
    marked = bytes(data) + b"\x80"
    return marked + bytes(-len(marked) % block)


def unpad_iso9797_1_method_2(data: bytes, block: int = 8) -> bytes:
    """Remove ISO/IEC 9797-1 padding method 2; :class:`CryptoError` if the padding is bad.

    >>> unpad_iso9797_1_method_2(bytes.fromhex("1234800000000000")).hex()
    '1234'
    """
    _check_block(block)
    if not data or len(data) % block:
        raise CryptoError(f"padded data must be a non-empty multiple of {block} bytes")
    stripped = bytes(data).rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= block:
        raise CryptoError("invalid ISO/IEC 9797-1 method 2 padding")
    return stripped[:-1]


def pad(data: bytes, block: int, padding: Padding) -> bytes:
    """Pad ``data`` to a multiple of ``block`` bytes with the given ISO/IEC 9797-1 method."""
    if padding is Padding.METHOD_1:
        return pad_iso9797_1_method_1(data, block)
    if padding is Padding.METHOD_2:
        return pad_iso9797_1_method_2(data, block)
    raise UsageError("padding must be Padding.METHOD_1 or Padding.METHOD_2", argument="padding")


def mac_iso9797_1_alg_1(
    cipher: Cipher, key: bytes, data: bytes, padding: Padding = Padding.METHOD_1
) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC, zero IV): the last cipher block, untruncated.

    With ``Cipher.DES`` and padding method 1 this is ANSI X9.9; with ``Cipher.TDES`` every
    block goes through 3DES; with ``Cipher.SM4`` or ``Cipher.AES`` the block is 16 bytes.

    >>> key = bytes.fromhex("0123456789ABCDEF")
    >>> mac_iso9797_1_alg_1(Cipher.DES, key, b"Now is the time for all ").hex().upper()
    '70A30640CC76DD8B'
    """
    padded = pad(data, cipher.block_size, padding)
    return encrypt_cbc(cipher, key, padded)[-cipher.block_size :]


def mac_iso9797_1_alg_3(key: bytes, data: bytes, padding: Padding = Padding.METHOD_1) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3, the "retail MAC" of ANSI X9.19 (8 bytes).

    All blocks are chained with single DES under K1 (the left key half); the output
    transformation then deciphers with K2 and enciphers again. With a 16-byte key K1‖K2 this
    is exactly the standard (K = K1, K' = K2); it equals 3DES-EDE with K1‖K2‖K1 on the last
    chained block. A 24-byte key K1‖K2‖K3 is accepted and runs the last block through
    3DES-EDE K1‖K2‖K3, i.e. the final encipherment uses K3 (the convention of Bouncy Castle's
    ``ISO9797Alg3Mac``); ISO/IEC 9797-1 itself only defines two keys.

    >>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> mac_iso9797_1_alg_3(key, b"Now is the time for it").hex().upper()   # T19
    '2E2B1428CC78254F'
    """
    check_key(Cipher.TDES, key)
    padded = pad(data, 8, padding)
    chained = bytes(8)
    if len(padded) > 8:
        chained = encrypt_cbc(Cipher.DES, bytes(key[:8]), padded[:-8])[-8:]
    return encrypt_ecb(Cipher.TDES, key, xor(chained, padded[-8:]))


def mac_x9_9(key: bytes, data: bytes) -> bytes:
    """ANSI X9.9 MAC: single-DES CBC-MAC, zero IV, zero padding (8-byte key, 8-byte MAC).

    >>> mac_x9_9(bytes.fromhex("0123456789ABCDEF"), b"Now is the time for all ").hex()
    '70a30640cc76dd8b'
    """
    return mac_iso9797_1_alg_1(Cipher.DES, key, data, Padding.METHOD_1)


def mac_x9_19(key: bytes, data: bytes) -> bytes:
    """ANSI X9.19 retail MAC: ISO/IEC 9797-1 algorithm 3 with zero padding (16-byte key)."""
    return mac_iso9797_1_alg_3(key, data, Padding.METHOD_1)


def mac_cup_ecb(cipher: Cipher, key: bytes, mab: bytes) -> bytes:
    """The UnionPay POS "ECB" MAC of a MAC block (MAB); 8 ASCII hex characters (field 64).

    Steps (docs/standards/card-terminal.md §2.8): zero-pad the MAB to the block size and XOR all
    blocks into R; H = uppercase hex of R (ASCII, two blocks long); E1 = E(MAK, first half of H);
    E2 = E(MAK, E1 XOR second half of H); the MAC is the first 8 characters of uppercase hex(E2).

    ``Cipher.DES`` takes a single-length MAK, ``Cipher.TDES`` a double-length MAK (the variant
    some acquirers run with 3DES). ``Cipher.SM4`` works on 16-byte blocks: H is 32 characters,
    E1 = SM4(H[0:16]), E2 = SM4(E1 XOR H[16:32]) and the MAC is again the first 8 hex
    characters of E2 — the common acquirer practice for SM4 MAKs [S], not a published standard.

    >>> mac_cup_ecb(Cipher.DES, bytes.fromhex("2222222222222222"),
    ...             bytes.fromhex("1234567890ABCDEFABCDEF1234567890"))     # T22
    b'E267B6E2'
    """
    if cipher not in (Cipher.DES, Cipher.TDES, Cipher.SM4):
        raise UsageError("the UnionPay ECB MAC is defined for des, 3des and sm4", argument="cipher")
    check_key(cipher, key)
    size = cipher.block_size
    padded = pad_iso9797_1_method_1(mab, size)
    folded = bytes(size)
    for start in range(0, len(padded), size):
        folded = xor(folded, padded[start : start + size])
    hex_ascii = folded.hex().upper().encode("ascii")
    first = encrypt_ecb(cipher, key, hex_ascii[:size])
    second = encrypt_ecb(cipher, key, xor(first, hex_ascii[size:]))
    return second.hex().upper().encode("ascii")[:8]


def mac_pboc(cipher: Cipher, key: bytes, data: bytes, length: int = 8) -> bytes:
    """The PBOC (JR/T 0025) MAC: padding method 2 always, leftmost ``length`` bytes (4 to 8).

    - ``Cipher.TDES`` (double-length key): ISO/IEC 9797-1 algorithm 3 (single-DES chain
      under K_L, final D(K_R), E(K_L)) — cryptograms, script MACs;
    - ``Cipher.SM4``: SM4 CBC-MAC with zero IV over 16-byte blocks (PBOC part 17);
    - ``Cipher.DES`` (single-length key): plain DES CBC-MAC.

    Use ``length=8`` for cryptograms and ``length=4`` for issuer-script MACs.

    >>> sk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> mac_pboc(Cipher.TDES, sk, b"Now is the time for all ", 4).hex().upper()   # T18
    'E9086230'
    """
    if isinstance(length, bool) or not isinstance(length, int) or not 4 <= length <= 8:
        raise UsageError("a PBOC MAC is 4 to 8 bytes long", argument="length")
    if cipher is Cipher.TDES:
        full = mac_iso9797_1_alg_3(key, data, Padding.METHOD_2)
    elif cipher in (Cipher.SM4, Cipher.DES):
        full = mac_iso9797_1_alg_1(cipher, key, data, Padding.METHOD_2)
    else:
        raise UsageError("the PBOC MAC is defined for des, 3des and sm4", argument="cipher")
    return full[:length]
