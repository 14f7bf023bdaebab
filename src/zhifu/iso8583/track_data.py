"""Track data enciphered under the TDK (field 53 digit 3 = ``1``): zhifu's convention.

The public sources agree that a terminal enciphers part of the BCD-packed track with its TDK
and leaves the length prefix as it was, but not on which bytes (docs/standards/iso8583-cup.md
§6.6). zhifu does this, on both sides:

1. pack the track's nibbles (``=`` is ``D``), padding an odd count with ``F``;
2. take the cipher's block (8 bytes for DES/3DES, 16 for SM4) that ends just before the last
   packed byte — or, when the track is shorter than a block and one byte, the block that starts
   at the first byte (a track shorter than one block is left as it is);
3. encipher it (ECB) in place; unpack to as many nibbles as there were.

So the value may hold the nibbles ``A``–``F``. The cipher is a callable (the security module's
``encrypt_data``/``decrypt_data`` under the TDK), so no key passes through this module.

>>> flip = lambda block: bytes(b ^ 0xFF for b in block)
>>> track = "6228480402564890018D49121200000000000"
>>> hidden = encipher_track(track, 8, flip)
>>> hidden != track and len(hidden) == len(track)
True
>>> decipher_track(hidden, 8, flip) == track
True
"""

from __future__ import annotations

from collections.abc import Callable

from zhifu.core.errors import DecodeError

__all__ = ["decipher_track", "encipher_track", "track_span"]

BlockFn = Callable[[bytes], bytes]
_NIBBLES = frozenset("0123456789ABCDEF")


def track_span(packed_length: int, block_size: int) -> slice | None:
    """The bytes enciphered in a packed track of ``packed_length`` bytes (None: none)."""
    if packed_length < block_size:
        return None
    if packed_length < block_size + 1:
        return slice(0, block_size)
    end = packed_length - 1
    return slice(end - block_size, end)


def _pack(nibbles: str) -> bytes:
    text = nibbles.upper().replace("=", "D")
    if not text or any(c not in _NIBBLES for c in text):
        raise DecodeError("track data holds a character that is not a nibble", field="35")
    return bytes.fromhex(text + "F" * (len(text) % 2))


def _apply(nibbles: str, block_size: int, fn: BlockFn) -> str:
    packed = bytearray(_pack(nibbles))
    span = track_span(len(packed), block_size)
    if span is not None:
        packed[span] = fn(bytes(packed[span]))
    return packed.hex().upper()[: len(nibbles)]


def encipher_track(nibbles: str, block_size: int, encipher: BlockFn) -> str:
    """The track with its block enciphered (``encipher`` takes and returns one block)."""
    return _apply(nibbles, block_size, encipher)


def decipher_track(nibbles: str, block_size: int, decipher: BlockFn) -> str:
    """The clear track from an enciphered one."""
    return _apply(nibbles, block_size, decipher)
