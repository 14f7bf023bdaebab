"""ISO 9564-1 PIN blocks: clear formats 0, 1, 2, 3 and the AES-enciphered format 4.

Layouts, one character per nibble (``C`` control, ``L`` PIN length 4..C, ``P`` PIN digit):

* format 0 (= ANSI X9.8 "with PAN"): ``0 L P..P F..F`` XOR ``0000`` + the 12 rightmost PAN digits
  excluding the check digit. UnionPay POS field 52 carries it enciphered under the PIK.
* format 1: ``1 L P..P`` + random (or transaction-unique) fill ``0``-``F``; no PAN.
* format 2: ``2 L P..P F..F``; only inside the card (offline PIN, PIN change scripts).
* format 3: like format 0 but the fill nibbles are random ``A``-``F``.
* format 4 (16 bytes, AES only, ISO 9564-1:2017): PIN field ``4 L P..P A..A`` + 8 random bytes;
  PAN field ``M`` + PAN (12 + M digits, shorter PANs left-padded with zeros to 12, M = 0)
  right-padded with ``0``; block = E(K, E(K, PIN field) XOR PAN field).

Errors never repeat the PIN, the PAN or the block: a bad argument raises :class:`UsageError`
naming the argument, a block that does not decode raises :class:`CryptoError` saying which
part (format, length, digits, fill) is invalid.

>>> # docs/standards/card-terminal.md T24
>>> encode_pinblock_iso_0("1234", "43219876543210987").hex().upper()
'0412AC89ABCDEF67'
>>> decode_pinblock_iso_0(bytes.fromhex("041215FEDCBA9876"), "5432101234567891")   # T25
'1234'
>>> key = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
>>> block = bytes.fromhex("E4BE5B623AF7E006AC319E5B93544564")
>>> decipher_pinblock_iso_4(key, block, "1234567890123456")             # T27
'1234'
"""

from __future__ import annotations

from zhifu.core.errors import UsageError
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.crypto.cipher import Cipher, decrypt_ecb, encrypt_ecb, xor
from zhifu.crypto.errors import CryptoError

__all__ = [
    "CLEAR_FORMATS",
    "decipher_pinblock_iso_4",
    "decode_pinblock",
    "decode_pinblock_iso_0",
    "decode_pinblock_iso_1",
    "decode_pinblock_iso_2",
    "decode_pinblock_iso_3",
    "encipher_pinblock_iso_4",
    "encode_pinblock",
    "encode_pinblock_iso_0",
    "encode_pinblock_iso_1",
    "encode_pinblock_iso_2",
    "encode_pinblock_iso_3",
]

#: The formats :func:`encode_pinblock` / :func:`decode_pinblock` handle (format 4 needs a key).
CLEAR_FORMATS = (0, 1, 2, 3)

_PIN_MIN, _PIN_MAX = 4, 12
_PAN_MIN, _PAN_MAX = 13, 19
_DIGITS = frozenset("0123456789")


# --- argument checks ------------------------------------------------------------------------


def _is_digits(text: object) -> bool:
    return isinstance(text, str) and bool(text) and set(text) <= _DIGITS


def _check_pin(pin: str) -> None:
    if not _is_digits(pin) or not _PIN_MIN <= len(pin) <= _PIN_MAX:
        raise UsageError(f"a PIN is {_PIN_MIN} to {_PIN_MAX} decimal digits", argument="pin")


def _check_pan(pan: str | None, low: int = _PAN_MIN) -> str:
    if pan is None:
        raise UsageError("this PIN block format needs the PAN", argument="pan")
    if not _is_digits(pan) or not low <= len(pan) <= _PAN_MAX:
        raise UsageError(f"a PAN is {low} to {_PAN_MAX} decimal digits", argument="pan")
    return pan


def _check_block(block: bytes, size: int, fmt: int) -> str:
    if not isinstance(block, bytes | bytearray | memoryview) or len(block) != size:
        raise UsageError(f"a format {fmt} PIN block is {size} bytes", argument="block")
    return bytes(block).hex().upper()


def _source(random: RandomSource | None) -> RandomSource:
    return SystemRandomSource() if random is None else random


# --- nibble fields --------------------------------------------------------------------------


def _pin_field(control: int, pin: str, fill: str) -> bytes:
    """``C L PIN fill`` as bytes; ``fill`` brings the nibble count to a whole block."""
    return bytes.fromhex(f"{control:X}{len(pin):X}{pin}{fill}")


def _pan_field_iso_0(pan: str) -> bytes:
    """``0000`` and the 12 rightmost PAN digits excluding the check digit (formats 0 and 3)."""
    return bytes.fromhex("0000" + pan[-13:-1])


def _pan_field_iso_4(pan: str) -> bytes:
    """``M`` + PAN (left-padded with zeros to 12 digits) right-padded with ``0`` to 32 nibbles."""
    return bytes.fromhex((f"{max(0, len(pan) - 12)}" + pan.rjust(12, "0")).ljust(32, "0"))


def _random_nibbles(random: RandomSource, count: int, low: int) -> str:
    """``count`` random hex nibbles drawn uniformly from ``low``..F."""
    return "".join(f"{low + random.below(16 - low):X}" for _ in range(count))


def _parse_pin_field(nibbles: str, control: str, fill_set: str | None, fill_end: int) -> str:
    """The PIN in a clear PIN field, after checking control, length, digits and fill.

    ``fill_set`` lists the nibbles allowed from after the PIN up to ``fill_end`` (``None``: any).
    """
    if nibbles[0] != control:
        raise CryptoError(f"PIN block format invalid: the control field is not {control}")
    length = int(nibbles[1], 16)
    if not _PIN_MIN <= length <= _PIN_MAX:
        raise CryptoError("PIN block length invalid: the PIN length is not 4 to 12")
    pin = nibbles[2 : 2 + length]
    if not set(pin) <= _DIGITS:
        raise CryptoError("PIN block digits invalid: the PIN field holds a non-decimal nibble")
    if fill_set is not None and not set(nibbles[2 + length : fill_end]) <= set(fill_set):
        raise CryptoError(f"PIN block fill invalid: the fill nibbles are not all {fill_set}")
    return pin


# --- format 0 -------------------------------------------------------------------------------


def encode_pinblock_iso_0(pin: str, pan: str) -> bytes:
    """ISO 9564-1 format 0 (ANSI X9.8) clear PIN block, 8 bytes.

    ``pan`` is the full PAN (13 to 19 digits, check digit included).

    >>> encode_pinblock_iso_0("123456", "6225880123456789").hex().upper()    # T28
    '06126CD6EDCBA987'
    """
    _check_pin(pin)
    _check_pan(pan)
    return xor(_pin_field(0, pin, "F" * (14 - len(pin))), _pan_field_iso_0(pan))


def decode_pinblock_iso_0(block: bytes, pan: str) -> str:
    """The PIN in a clear format 0 block; :class:`CryptoError` if the block is not valid."""
    _check_pan(pan)
    _check_block(block, 8, 0)
    nibbles = xor(bytes(block), _pan_field_iso_0(pan)).hex().upper()
    return _parse_pin_field(nibbles, "0", "F", 16)


# --- format 1 -------------------------------------------------------------------------------


def encode_pinblock_iso_1(pin: str, random: RandomSource | None = None) -> bytes:
    """ISO 9564-1 format 1 clear PIN block: the PIN and random fill, no PAN.

    >>> from zhifu.core.rng import SeededRandom
    >>> encode_pinblock_iso_1("1234", SeededRandom(1)).hex().upper()[:6]
    '141234'
    """
    _check_pin(pin)
    fill = _random_nibbles(_source(random), 14 - len(pin), 0)
    return _pin_field(1, pin, fill)


def decode_pinblock_iso_1(block: bytes) -> str:
    """The PIN in a clear format 1 block (the fill is not checkable)."""
    nibbles = _check_block(block, 8, 1)
    return _parse_pin_field(nibbles, "1", None, 16)


# --- format 2 -------------------------------------------------------------------------------


def encode_pinblock_iso_2(pin: str) -> bytes:
    """ISO 9564-1 format 2 clear PIN block (ICC offline PIN), fill ``F``.

    >>> encode_pinblock_iso_2("123456789012").hex().upper()                 # T26
    '2C123456789012FF'
    """
    _check_pin(pin)
    return _pin_field(2, pin, "F" * (14 - len(pin)))


def decode_pinblock_iso_2(block: bytes) -> str:
    """The PIN in a clear format 2 block.

    >>> decode_pinblock_iso_2(bytes.fromhex("2C123456789012FF"))
    '123456789012'
    """
    nibbles = _check_block(block, 8, 2)
    return _parse_pin_field(nibbles, "2", "F", 16)


# --- format 3 -------------------------------------------------------------------------------


def encode_pinblock_iso_3(pin: str, pan: str, random: RandomSource | None = None) -> bytes:
    """ISO 9564-1 format 3 clear PIN block: as format 0 with random ``A``-``F`` fill.

    >>> from zhifu.core.rng import SeededRandom
    >>> block = encode_pinblock_iso_3("1234", "43219876543210987", SeededRandom(3))
    >>> decode_pinblock_iso_3(block, "43219876543210987")
    '1234'
    """
    _check_pin(pin)
    _check_pan(pan)
    fill = _random_nibbles(_source(random), 14 - len(pin), 10)
    return xor(_pin_field(3, pin, fill), _pan_field_iso_0(pan))


def decode_pinblock_iso_3(block: bytes, pan: str) -> str:
    """The PIN in a clear format 3 block; the fill must be ``A``-``F``."""
    _check_pan(pan)
    _check_block(block, 8, 3)
    nibbles = xor(bytes(block), _pan_field_iso_0(pan)).hex().upper()
    return _parse_pin_field(nibbles, "3", "ABCDEF", 16)


# --- format 4 (AES) -------------------------------------------------------------------------


def encipher_pinblock_iso_4(
    key: bytes, pin: str, pan: str, random: RandomSource | None = None
) -> bytes:
    """ISO 9564-1:2017 format 4: the 16-byte PIN block enciphered under the AES ``key``.

    ``pan`` is 1 to 19 digits (PANs under 12 digits are zero-padded on the left, M = 0).

    >>> from zhifu.core.rng import SeededRandom
    >>> key = bytes(16)
    >>> block = encipher_pinblock_iso_4(key, "1234", "1234567890123456", SeededRandom(4))
    >>> decipher_pinblock_iso_4(key, block, "1234567890123456")
    '1234'
    """
    _check_pin(pin)
    _check_pan(pan, low=1)
    pin_field = _pin_field(4, pin, "A" * (14 - len(pin))) + _source(random).bytes(8)
    block_a = encrypt_ecb(Cipher.AES, key, pin_field)
    return encrypt_ecb(Cipher.AES, key, xor(block_a, _pan_field_iso_4(pan)))


def decipher_pinblock_iso_4(key: bytes, block: bytes, pan: str) -> str:
    """The PIN in a format 4 block enciphered under the AES ``key``.

    A wrong key or PAN shows up as :class:`CryptoError` (the PIN field does not decode).
    """
    _check_pan(pan, low=1)
    _check_block(block, 16, 4)
    block_b = decrypt_ecb(Cipher.AES, key, bytes(block))
    pin_field = decrypt_ecb(Cipher.AES, key, xor(block_b, _pan_field_iso_4(pan)))
    return _parse_pin_field(pin_field.hex().upper(), "4", "A", 16)


# --- dispatchers ----------------------------------------------------------------------------


def _check_format(fmt: int) -> None:
    if fmt == 4:
        raise UsageError(
            "format 4 PIN blocks only exist enciphered under an AES key; "
            "use encipher_pinblock_iso_4 / decipher_pinblock_iso_4 with the key",
            argument="format",
        )
    if isinstance(fmt, bool) or fmt not in CLEAR_FORMATS:
        raise UsageError("the PIN block format is 0, 1, 2 or 3", argument="format")


def encode_pinblock(
    fmt: int, pin: str, pan: str | None = None, random: RandomSource | None = None
) -> bytes:
    """Encode a clear PIN block of ISO format ``fmt`` (0 to 3).

    ``pan`` is required by formats 0 and 3 and ignored by 1 and 2; ``random`` feeds the fill of
    formats 1 and 3.

    >>> encode_pinblock(0, "1234", "5432101234567891").hex().upper()        # T25
    '041215FEDCBA9876'
    """
    _check_format(fmt)
    if fmt == 0:
        return encode_pinblock_iso_0(pin, _check_pan(pan))
    if fmt == 1:
        return encode_pinblock_iso_1(pin, random)
    if fmt == 2:
        return encode_pinblock_iso_2(pin)
    return encode_pinblock_iso_3(pin, _check_pan(pan), random)


def decode_pinblock(fmt: int, block: bytes, pan: str | None = None) -> str:
    """Decode a clear PIN block of ISO format ``fmt`` (0 to 3) and return the PIN.

    >>> decode_pinblock(2, bytes.fromhex("241234FFFFFFFFFF"))
    '1234'
    """
    _check_format(fmt)
    if fmt == 0:
        return decode_pinblock_iso_0(block, _check_pan(pan))
    if fmt == 1:
        return decode_pinblock_iso_1(block)
    if fmt == 2:
        return decode_pinblock_iso_2(block)
    return decode_pinblock_iso_3(block, _check_pan(pan))
