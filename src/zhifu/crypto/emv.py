"""EMV / PBOC card cryptography: ICC master keys, session keys, application cryptograms
(ARQC/TC/AAC), issuer authentication (ARPC) and issuer-script secure messaging.

Every operation exists in a 3DES form (EMV Book 2 Annex A, PBOC CVN 01) and an SM4 form
(JR/T 0025.17), chosen by a ``cipher`` argument (``Cipher.TDES`` or ``Cipher.SM4``); card
keys are 16 bytes in both. Facts and confidence tags: docs/standards/card-terminal.md §2.1-2.5.
Errors name the bad argument and give lengths only, never key, PAN or data bytes.

>>> imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> # docs/standards/card-terminal.md T34
>>> mk = derive_icc_mk_a(Cipher.TDES, imk, "99012345678901234", "45")
>>> mk.hex().upper()
'67F8292358083E5EA7AB7FDA58D53B6B'
>>> sk = derive_common_session_key(mk, bytes.fromhex("1234567890123456"))  # T35
>>> sk.hex().upper()
'29B33180E567CE38EA4CBC9D753B0E61'
>>> arqc = generate_ac(Cipher.TDES, sk, bytes.fromhex("0123456789ABCDEF" * 2))
>>> arqc.hex().upper()
'FA624250B008B59A'
>>> generate_arpc_method_1(Cipher.TDES, sk, arqc, bytes.fromhex("0000")).hex().upper()
'45D4255EEF10C920'
"""

from __future__ import annotations

import enum
import hmac

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, decrypt_cbc, decrypt_ecb, encrypt_cbc, encrypt_ecb, xor
from zhifu.crypto.errors import CryptoError, InvalidKeyError
from zhifu.crypto.mac import mac_pboc, pad_iso9797_1_method_2, unpad_iso9797_1_method_2

__all__ = [
    "ScriptDataFormat",
    "build_ac_data_pboc",
    "decrypt_script_data",
    "derive_common_session_key",
    "derive_icc_mk_a",
    "derive_pboc_session_key",
    "encrypt_script_data",
    "generate_ac",
    "generate_arpc_method_1",
    "generate_arpc_method_2",
    "generate_script_mac",
    "pad_pin_for_script",
    "verify_ac",
]

_DIGITS = frozenset("0123456789")


# ---------------------------------------------------------------------------- argument checks


def _check_cipher(cipher: Cipher) -> None:
    if cipher not in (Cipher.TDES, Cipher.SM4):
        raise UsageError("EMV/PBOC card cryptography uses 3des or sm4", argument="cipher")


def _check_card_key(cipher: Cipher, key: bytes, argument: str) -> None:
    _check_cipher(cipher)
    if not isinstance(key, bytes | bytearray):
        raise InvalidKeyError("a card key must be bytes", argument=argument)
    if len(key) != 16:
        raise InvalidKeyError(
            f"a {cipher.value} card key is 16 bytes, not {len(key)}", argument=argument
        )


def _check_bytes(value: bytes, sizes: range | tuple[int, ...], argument: str) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise UsageError("must be bytes", argument=argument)
    if len(value) not in sizes:
        if isinstance(sizes, range):
            expected = f"{sizes.start} to {sizes.stop - 1}"
        else:
            expected = " or ".join(str(size) for size in sizes)
        raise UsageError(f"must be {expected} bytes, not {len(value)}", argument=argument)
    return bytes(value)


def _with_odd_parity(key: bytes) -> bytes:
    """Set the low bit of each byte so every byte has an odd number of 1 bits (DES parity)."""
    return bytes(byte ^ (~byte.bit_count() & 1) for byte in key)


# ---------------------------------------------------------------------------- key derivation


def _option_a_block(pan: str, psn: str | None) -> bytes:
    """Y of EMV Book 2 A1.4.1: rightmost 16 digits of PAN ‖ PSN, zero-filled left, as BCD."""
    if not isinstance(pan, str):
        raise UsageError("the PAN must be a string of digits", argument="pan")
    digits = pan.rstrip("Ff")
    if not 8 <= len(digits) <= 19 or not _DIGITS.issuperset(digits):
        raise UsageError(
            f"must be 8 to 19 decimal digits (optionally F-padded), got {len(pan)} characters",
            argument="pan",
        )
    psn = "00" if psn is None else psn
    if not isinstance(psn, str) or len(psn) != 2 or not _DIGITS.issuperset(psn):
        raise UsageError("the PAN sequence number is 2 decimal digits", argument="psn")
    return bytes.fromhex((digits + psn)[-16:].rjust(16, "0"))


def derive_icc_mk_a(cipher: Cipher, imk: bytes, pan: str, psn: str | None = "00") -> bytes:
    """ICC master key (UDK) from an issuer master key, EMV Book 2 Annex A1.4.1 option A.

    Y = rightmost 16 digits of PAN ‖ PSN (PSN ``"00"`` when absent; trailing ``F`` padding of
    the PAN removed; shorter input zero-filled on the left), packed BCD.

    - ``Cipher.TDES``: 3DES(IMK)[Y] ‖ 3DES(IMK)[Y ⊕ FF..FF], then odd parity on every byte.
    - ``Cipher.SM4``: SM4(IMK)[Y ‖ (Y ⊕ FF..FF)], one 16-byte block, no parity [S].

    Option A is used here whatever the PAN length, as pyemv and the PBOC tools do.

    >>> imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_icc_mk_a(Cipher.TDES, imk, "12345678901234567", "01").hex().upper()   # T36
    '73AD54688CEF2934B0979857E3C719F1'
    """
    _check_card_key(cipher, imk, "imk")
    y = _option_a_block(pan, psn)
    block = y + xor(y, b"\xff" * 8)
    if cipher is Cipher.SM4:
        return encrypt_ecb(Cipher.SM4, imk, block)
    return _with_odd_parity(encrypt_ecb(Cipher.TDES, imk, block))


def derive_common_session_key(icc_mk: bytes, r: bytes) -> bytes:
    """EMV common session key (EMV Book 2 A1.3.1), 3DES: odd parity applied to the result.

    SK = 3DES(MK)[R with byte 2 := F0] ‖ 3DES(MK)[R with byte 2 := 0F], R 8 bytes
    (R = ATC ‖ 00×6 for AC keys, or the ARQC for secure-messaging keys).

    >>> mk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_common_session_key(mk, bytes.fromhex("001C000000000000")).hex().upper()  # T37
    'E9FB384AF807B940FEDCEA613461B0C4'
    """
    _check_card_key(Cipher.TDES, icc_mk, "icc_mk")
    r = _check_bytes(r, (8,), "r")
    left = r[:2] + b"\xf0" + r[3:]
    right = r[:2] + b"\x0f" + r[3:]
    return _with_odd_parity(encrypt_ecb(Cipher.TDES, icc_mk, left + right))


def derive_pboc_session_key(cipher: Cipher, udk: bytes, atc: bytes) -> bytes:
    """PBOC session key from a card key (MK-AC, MK-SMI or MK-SMC) and the 2-byte ATC.

    - ``Cipher.TDES``: 3DES(UDK)[00×6 ‖ ATC] ‖ 3DES(UDK)[00×6 ‖ (ATC ⊕ FFFF)] (no parity step;
      parity bits never change a DES result);
    - ``Cipher.SM4``: SM4(UDK)[00×6 ‖ ATC ‖ 00×6 ‖ (ATC ⊕ FFFF)], one block.
    """
    _check_card_key(cipher, udk, "udk")
    atc = _check_bytes(atc, (2,), "atc")
    block = bytes(6) + atc + bytes(6) + xor(atc, b"\xff\xff")
    return encrypt_ecb(cipher, udk, block)


# ---------------------------------------------------------------------------- cryptograms


def generate_ac(cipher: Cipher, sk: bytes, data: bytes) -> bytes:
    """Application cryptogram (ARQC, TC or AAC), 8 bytes, over the assembled ``data``.

    ``Cipher.TDES``: ISO/IEC 9797-1 algorithm 3 with padding method 2 (EMV Book 2 A1.2.1).
    ``Cipher.SM4``: SM4 CBC-MAC, padding method 2, leftmost 8 bytes (PBOC part 17) [S].
    """
    _check_card_key(cipher, sk, "sk")
    return mac_pboc(cipher, sk, data, 8)


def verify_ac(cipher: Cipher, sk: bytes, data: bytes, ac: bytes) -> bool:
    """True when ``ac`` is the cryptogram of ``data`` under ``sk`` (constant-time compare)."""
    return hmac.compare_digest(generate_ac(cipher, sk, data), bytes(ac))


def build_ac_data_pboc(
    *,
    tag_9f02: bytes,
    tag_9f03: bytes,
    tag_9f1a: bytes,
    tag_95: bytes,
    tag_5f2a: bytes,
    tag_9a: bytes,
    tag_9c: bytes,
    tag_9f37: bytes,
    tag_82: bytes,
    tag_9f36: bytes,
    tag_9f10: bytes,
) -> bytes:
    """The 37-byte cryptogram input of PBOC CVN 01, assembled by tag
    (docs/standards/card-terminal.md §2.3).

    9F02 ‖ 9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 ‖ 82 ‖ 9F36 ‖ CVR, where CVR is bytes 3-6
    of the issuer application data 9F10 (its length byte ``03`` and the three CVR bytes).
    Each value is checked for its EMV length; a wrong one raises :class:`UsageError` naming
    the tag.

    >>> data = build_ac_data_pboc(
    ...     tag_9f02=bytes.fromhex("000000001000"), tag_9f03=bytes(6),
    ...     tag_9f1a=bytes.fromhex("0156"), tag_95=bytes(5), tag_5f2a=bytes.fromhex("0156"),
    ...     tag_9a=bytes.fromhex("240101"), tag_9c=bytes(1), tag_9f37=bytes.fromhex("12345678"),
    ...     tag_82=bytes.fromhex("7C00"), tag_9f36=bytes.fromhex("0001"),
    ...     tag_9f10=bytes.fromhex("07010103A00000010A01000000000000000000"))
    >>> len(data), data[-4:].hex().upper()
    (37, '03A00000')
    """
    fixed = (
        (tag_9f02, 6, "tag_9f02"),
        (tag_9f03, 6, "tag_9f03"),
        (tag_9f1a, 2, "tag_9f1a"),
        (tag_95, 5, "tag_95"),
        (tag_5f2a, 2, "tag_5f2a"),
        (tag_9a, 3, "tag_9a"),
        (tag_9c, 1, "tag_9c"),
        (tag_9f37, 4, "tag_9f37"),
        (tag_82, 2, "tag_82"),
        (tag_9f36, 2, "tag_9f36"),
    )
    parts = [_check_bytes(value, (size,), name) for value, size, name in fixed]
    iad = _check_bytes(tag_9f10, range(7, 33), "tag_9f10")
    return b"".join(parts) + iad[3:7]


def generate_arpc_method_1(cipher: Cipher, sk: bytes, arqc: bytes, arc: bytes) -> bytes:
    """ARPC method 1 (EMV Book 2 A1.3.1 / 8.2.1), 8 bytes, from the ARQC and the 2-byte ARC.

    ``Cipher.TDES``: 3DES(SK)[ARQC ⊕ (ARC ‖ 00×6)]. ``Cipher.SM4``: leftmost 8 bytes of
    SM4(SK)[(ARQC ⊕ (ARC ‖ 00×6)) ‖ 00×8] [S]. EMV allows the ICC master key instead of the
    session key as ``sk``; PBOC uses the AC session key.
    """
    _check_card_key(cipher, sk, "sk")
    arqc = _check_bytes(arqc, (8,), "arqc")
    arc = _check_bytes(arc, (2,), "arc")
    block = xor(arqc, arc + bytes(6))
    return encrypt_ecb(cipher, sk, block + bytes(cipher.block_size - 8))[:8]


def generate_arpc_method_2(
    cipher: Cipher, sk: bytes, arqc: bytes, csu: bytes, prop_auth_data: bytes = b""
) -> bytes:
    """ARPC method 2 (EMV Book 2 8.2.2 / A1.3.2), 4 bytes.

    MAC over ARQC ‖ CSU (4 bytes) ‖ proprietary authentication data (0-8 bytes) with padding
    method 2: ISO/IEC 9797-1 algorithm 3 for ``Cipher.TDES``, SM4 CBC-MAC for ``Cipher.SM4``;
    the leftmost 4 bytes. Method 2 is EMV's; PBOC cards use method 1.
    """
    _check_card_key(cipher, sk, "sk")
    arqc = _check_bytes(arqc, (8,), "arqc")
    csu = _check_bytes(csu, (4,), "csu")
    prop_auth_data = _check_bytes(prop_auth_data, range(9), "prop_auth_data")
    return mac_pboc(cipher, sk, arqc + csu + prop_auth_data, 4)


# ---------------------------------------------------------------------------- issuer scripts


def generate_script_mac(
    cipher: Cipher,
    sk_smi: bytes,
    cla_ins_p1_p2_lc: bytes,
    *,
    atc: bytes,
    arqc: bytes,
    data: bytes,
    length: int = 4,
) -> bytes:
    """MAC of an issuer-script command (EMV Book 2 9.2.3, PBOC secure messaging), 4-8 bytes.

    MAC input = CLA INS P1 P2 Lc ‖ ATC ‖ ARQC ‖ command data (clear or already enciphered),
    padding method 2, under the script-integrity session key SK_SMI (:func:`mac_pboc`).
    Lc counts the data and the MAC, so ``Lc == len(data) + length`` is checked. For the EMV
    form without transaction data pass ``atc=b""`` and ``arqc=b""``.

    >>> sk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> generate_script_mac(Cipher.TDES, sk, bytes.fromhex("8424000008"),
    ...                     atc=bytes.fromhex("FFFF"), arqc=bytes.fromhex("1234567890123456"),
    ...                     data=b"", length=8).hex().upper()   # pyemv generate_command_mac
    'E07B8DF1B4184282'
    """
    _check_card_key(cipher, sk_smi, "sk_smi")
    header = _check_bytes(cla_ins_p1_p2_lc, (5,), "cla_ins_p1_p2_lc")
    atc = _check_bytes(atc, (0, 2), "atc")
    arqc = _check_bytes(arqc, (0, 8), "arqc")
    data = _check_bytes(data, range(256), "data")
    if isinstance(length, bool) or not isinstance(length, int) or not 4 <= length <= 8:
        raise UsageError("a script MAC is 4 to 8 bytes long", argument="length")
    if header[4] != len(data) + length:
        raise UsageError(
            f"Lc is {header[4]} but data and MAC are {len(data) + length} bytes",
            argument="cla_ins_p1_p2_lc",
        )
    return mac_pboc(cipher, sk_smi, header + atc + arqc + data, length)


def pad_pin_for_script(pin: str) -> bytes:
    """The 8-byte clear PIN block of PIN CHANGE/UNBLOCK: ISO 9564-1 format 2, ``2 L PIN F..``.

    It is then enciphered with :func:`encrypt_script_data` under SK_SMC. (Visa's VIS form,
    which XORs the block with part of the AC master key, is not implemented.)

    >>> pad_pin_for_script("123456789012").hex().upper()      # docs/standards/card-terminal.md T26
    '2C123456789012FF'
    """
    if not isinstance(pin, str) or not 4 <= len(pin) <= 12 or not _DIGITS.issuperset(pin):
        raise UsageError("the PIN must be 4 to 12 decimal digits", argument="pin")
    return bytes.fromhex(f"2{len(pin):X}{pin}".ljust(16, "F"))


class ScriptDataFormat(enum.Enum):
    """How issuer-script command data is formatted before encipherment under SK_SMC."""

    PBOC = "pboc"
    """LD (1-byte length) ‖ data, then ``80 00..`` only if not block-aligned; ECB [K].
    The PBOC secure-messaging rule (also Visa's), applied with the cipher's block size."""
    EMV = "emv"
    """Data padded with ISO/IEC 9797-1 method 2 (always); CBC with zero IV (EMV Book 2
    A1.1 / 9.3; pyemv ``EncryptionType.EMV``)."""


def encrypt_script_data(
    cipher: Cipher, sk_smc: bytes, data: bytes, form: ScriptDataFormat = ScriptDataFormat.PBOC
) -> bytes:
    """Encipher issuer-script command data (e.g. a PIN block) under the session key SK_SMC.

    >>> sk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> block = pad_pin_for_script("9999")
    >>> encrypt_script_data(Cipher.TDES, sk, block, ScriptDataFormat.EMV).hex().upper()
    '5A862D1381CCB94822CFDD706A376178'
    """
    _check_card_key(cipher, sk_smc, "sk_smc")
    data = _check_bytes(data, range(255), "data")
    if form is ScriptDataFormat.PBOC:
        framed = bytes([len(data)]) + data
        if len(framed) % cipher.block_size:
            framed = pad_iso9797_1_method_2(framed, cipher.block_size)
        return encrypt_ecb(cipher, sk_smc, framed)
    if form is ScriptDataFormat.EMV:
        return encrypt_cbc(cipher, sk_smc, pad_iso9797_1_method_2(data, cipher.block_size))
    raise UsageError("form must be a ScriptDataFormat", argument="form")


def decrypt_script_data(
    cipher: Cipher,
    sk_smc: bytes,
    encrypted: bytes,
    form: ScriptDataFormat = ScriptDataFormat.PBOC,
) -> bytes:
    """Decipher data made by :func:`encrypt_script_data`; :class:`CryptoError` if malformed.

    >>> sk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> sealed = encrypt_script_data(Cipher.SM4, sk, bytes.fromhex("241234FFFFFFFFFF"))
    >>> decrypt_script_data(Cipher.SM4, sk, sealed).hex().upper()
    '241234FFFFFFFFFF'
    """
    _check_card_key(cipher, sk_smc, "sk_smc")
    size = cipher.block_size
    if not isinstance(encrypted, bytes | bytearray) or not encrypted or len(encrypted) % size:
        raise CryptoError(f"enciphered script data must be a non-empty multiple of {size} bytes")
    if form is ScriptDataFormat.EMV:
        return unpad_iso9797_1_method_2(decrypt_cbc(cipher, sk_smc, bytes(encrypted)), size)
    if form is not ScriptDataFormat.PBOC:
        raise UsageError("form must be a ScriptDataFormat", argument="form")
    plain = decrypt_ecb(cipher, sk_smc, bytes(encrypted))
    if 1 + plain[0] > len(plain):
        raise CryptoError("enciphered script data has an invalid length byte")
    framed = plain[: 1 + plain[0]]
    if len(framed) % size:
        framed = pad_iso9797_1_method_2(framed, size)
    if framed != plain:
        raise CryptoError("enciphered script data has an invalid length byte or padding")
    return plain[1 : 1 + plain[0]]
