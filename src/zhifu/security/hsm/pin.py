"""PIN operations of the security module: encipher, translate and verify PIN blocks.

The clear PIN exists only inside these methods: it is never returned, logged, stored or put
in an exception (a block that does not decode raises :class:`PinBlockError` naming the key and
format only).

PIN blocks and keys (ISO 9564-1, PCI PIN 2-3):

* formats 0, 1 and 3 are 8-byte blocks enciphered (ECB) under a DES or 3DES PIN key. Under an
  SM4 PIN key the same 8-byte block is followed by 8 bytes ``FF`` and the 16 bytes enciphered
  as one SM4 block (zhifu's convention: there is no ISO format for SM4; the ``FF`` tail is
  checked on decipherment);
* format 4 is the 16-byte AES block of ISO 9564-1:2017, under an AES PIN key only.

A block with the PAN in it (formats 0, 3, 4) is never translated into format 1 (PCI PIN
requirement 3-3).

PIN verification values are zhifu's own, *not* Visa PVVs or IBM 3624 offsets:
``PVV = leftmost 8 bytes of HMAC-SM3(PVK, ASCII(PAN) ‖ "|" ‖ ASCII(PIN))`` under a PVK key
(any block-cipher key; its bytes are the HMAC key).

>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> from zhifu.security.secrets import Pin
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> tpk = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES)
>>> zpk = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.SM4)
>>> block = hsm.encrypt_pin_block(Pin("1234"), tpk, "6225881234566789")
>>> block
PinBlock('<8 bytes redacted>')
>>> hsm.translate_pin_block(block, source_key=tpk, source_format=PinBlockFormat.ISO_0,
...                         target_key=zpk, target_format=PinBlockFormat.ISO_3,
...                         pan="6225881234566789")
PinBlock('<16 bytes redacted>')
"""

from __future__ import annotations

import enum
import hmac

from zhifu.core.errors import UsageError
from zhifu.crypto import pinblock
from zhifu.crypto.cipher import decrypt_ecb, encrypt_ecb
from zhifu.crypto.errors import CryptoError
from zhifu.crypto.hashes import Hash
from zhifu.crypto.hashes import hmac as _hmac
from zhifu.security.errors import KeyUsageError, PinBlockError
from zhifu.security.hsm.base import HandleLike, HsmBase, LoadedKey, pan_digits
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.secrets import Pan, Pin, PinBlock

__all__ = ["PVV_LENGTH", "PinBlockFormat", "PinMixin"]

PVV_LENGTH = 8
_SM4_TAIL = b"\xff" * 8
_WITH_PAN = frozenset({0, 3, 4})


class PinBlockFormat(enum.IntEnum):
    """The ISO 9564-1 PIN block formats used online (format 2 stays inside the card)."""

    ISO_0 = 0
    ISO_1 = 1
    ISO_3 = 3
    ISO_4 = 4


def _check_key_format(key: LoadedKey, fmt: PinBlockFormat) -> None:
    algorithm = key.info.algorithm
    if fmt is PinBlockFormat.ISO_4 and algorithm is not KeyAlgorithm.AES:
        raise KeyUsageError(key.id, "AES (PIN block format 4)", algorithm.name, what="algorithm")
    if fmt is not PinBlockFormat.ISO_4 and algorithm is KeyAlgorithm.AES:
        raise KeyUsageError(
            key.id, f"DES, TDES or SM4 (PIN block format {int(fmt)})", "AES", what="algorithm"
        )


def _format(fmt: PinBlockFormat | int, argument: str) -> PinBlockFormat:
    try:
        return PinBlockFormat(fmt)
    except ValueError:
        raise UsageError("the PIN block format is 0, 1, 3 or 4", argument=argument) from None


def _pan_for(fmt: PinBlockFormat, pan: Pan | str | None) -> str | None:
    if fmt not in _WITH_PAN:
        return None
    if pan is None:
        raise UsageError(f"PIN block format {int(fmt)} needs the PAN", argument="pan")
    return pan_digits(pan)


def _block_bytes(block: PinBlock | bytes, key: LoadedKey) -> bytes:
    raw = block.reveal() if isinstance(block, PinBlock) else bytes(block)
    size = 8 if key.info.algorithm in (KeyAlgorithm.DES, KeyAlgorithm.TDES) else 16
    if len(raw) != size:
        raise UsageError(
            f"a PIN block under {key.id} ({key.info.algorithm.name}) is {size} bytes, "
            f"not {len(raw)}",
            argument="block",
        )
    return raw


def _decipher(key: LoadedKey, fmt: PinBlockFormat, block: bytes, pan: str | None) -> str:
    """The clear PIN of an enciphered block; PinBlockError (no values) when it does not decode."""
    _check_key_format(key, fmt)
    try:
        if fmt is PinBlockFormat.ISO_4:
            assert pan is not None
            return pinblock.decipher_pinblock_iso_4(key.clear, block, pan)
        clear = decrypt_ecb(key.info.algorithm.cipher, key.clear, block)
        if key.info.algorithm is KeyAlgorithm.SM4:
            if not hmac.compare_digest(clear[8:], _SM4_TAIL):
                raise CryptoError("bad SM4 PIN block tail")
            clear = clear[:8]
        return pinblock.decode_pinblock(int(fmt), clear, pan)
    except CryptoError:
        raise PinBlockError(
            f"the PIN block does not decode as ISO format {int(fmt)} under key {key.id} "
            "(wrong key, PAN or format, or altered)"
        ) from None


def _pvv(pvk: LoadedKey, pan: str, pin: str) -> bytes:
    return _hmac(Hash.SM3, pvk.clear, f"{pan}|{pin}".encode("ascii"))[:PVV_LENGTH]


class PinMixin(HsmBase):
    """PIN operations of :class:`~zhifu.security.hsm.soft.SoftHsm`."""

    def _encipher(self, key: LoadedKey, fmt: PinBlockFormat, pin: str, pan: str | None) -> bytes:
        _check_key_format(key, fmt)
        if fmt is PinBlockFormat.ISO_4:
            assert pan is not None
            return pinblock.encipher_pinblock_iso_4(key.clear, pin, pan, self._rng)
        clear = pinblock.encode_pinblock(int(fmt), pin, pan, self._rng)
        if key.info.algorithm is KeyAlgorithm.SM4:
            clear += _SM4_TAIL
        return encrypt_ecb(key.info.algorithm.cipher, key.clear, clear)

    def encrypt_pin_block(
        self,
        pin: Pin,
        pin_key: HandleLike,
        pan: Pan | str | None,
        *,
        format: PinBlockFormat = PinBlockFormat.ISO_0,
    ) -> PinBlock:
        """Build the ISO ``format`` block of ``pin`` and encipher it under a PIN key.

        For the terminal's secure module (PIN pad): the PIN arrives as a :class:`Pin` and only
        the enciphered :class:`PinBlock` comes out.
        """
        if not isinstance(pin, Pin):
            raise UsageError("the PIN is passed as a Pin value", argument="pin")
        fmt = _format(format, "format")
        digits = _pan_for(fmt, pan)
        with self._use(pin_key, KeyUsage.PIN) as key:
            return PinBlock(self._encipher(key, fmt, pin.reveal(), digits))

    def translate_pin_block(
        self,
        block: PinBlock | bytes,
        *,
        source_key: HandleLike,
        source_format: PinBlockFormat,
        target_key: HandleLike,
        target_format: PinBlockFormat,
        pan: Pan | str | None,
    ) -> PinBlock:
        """Re-encipher a PIN block from one PIN key and format to another (TPK → ZPK).

        The block is deciphered under ``source_key``, decoded, re-encoded in
        ``target_format`` and enciphered under ``target_key``; the clear PIN never leaves the
        method. Raises :class:`PinBlockError` when the source block does not decode, and
        :class:`KeyUsageError` when a key is not a PIN key or does not fit its format.
        """
        src_fmt = _format(source_format, "source_format")
        dst_fmt = _format(target_format, "target_format")
        if src_fmt in _WITH_PAN and dst_fmt is PinBlockFormat.ISO_1:
            raise UsageError(
                "a PIN block with the PAN (format 0, 3, 4) is not translated into format 1 "
                "(PCI PIN 3-3)",
                argument="target_format",
            )
        src_pan, dst_pan = _pan_for(src_fmt, pan), _pan_for(dst_fmt, pan)
        with (
            self._use(source_key, KeyUsage.PIN) as source,
            self._use(target_key, KeyUsage.PIN) as target,
        ):
            _check_key_format(target, dst_fmt)
            pin = _decipher(source, src_fmt, _block_bytes(block, source), src_pan)
            return PinBlock(self._encipher(target, dst_fmt, pin, dst_pan))

    def generate_pin_verification_value(
        self,
        block: PinBlock | bytes,
        pin_key: HandleLike,
        *,
        pan: Pan | str,
        pvk: HandleLike,
        format: PinBlockFormat = PinBlockFormat.ISO_0,
    ) -> bytes:
        """The PIN verification value (8 bytes) the issuer keeps for the PIN in ``block``.

        zhifu's PVV is HMAC-SM3(PVK, PAN ‖ "|" ‖ PIN) truncated to 8 bytes: not a Visa PVV.
        """
        fmt = _format(format, "format")
        digits = pan_digits(pan)
        with self._use(pin_key, KeyUsage.PIN) as key, self._use(pvk, KeyUsage.PVK) as verifier:
            pin = _decipher(key, fmt, _block_bytes(block, key), _pan_for(fmt, digits))
            return _pvv(verifier, digits, pin)

    def verify_pin(
        self,
        block: PinBlock | bytes,
        pin_key: HandleLike,
        *,
        pan: Pan | str,
        pvv: bytes,
        pvk: HandleLike,
        format: PinBlockFormat = PinBlockFormat.ISO_0,
    ) -> bool:
        """True when the PIN in ``block`` matches the stored verification value ``pvv``.

        A wrong PIN gives ``False`` (response code 55); a block that does not decode raises
        :class:`PinBlockError` (response code 99). The comparison is constant-time.
        """
        if len(pvv) != PVV_LENGTH:
            raise UsageError(f"a PIN verification value is {PVV_LENGTH} bytes", argument="pvv")
        expected = self.generate_pin_verification_value(
            block, pin_key, pan=pan, pvk=pvk, format=format
        )
        return hmac.compare_digest(expected, bytes(pvv))
