"""The card verification value of a magnetic stripe (CVN, CVV, CVC: one algorithm).

UnionPay's CVN, Visa's CVV and Mastercard's CVC1 are computed the same way under a
double-length DES key pair (CVK A ‖ CVK B), over the PAN, the expiry (YYMM) and the service
code of track 2:

1. the digits PAN ‖ expiry ‖ service code, right-padded with ``0`` to 32, as two 8-byte blocks;
2. DES-encrypt block 1 under CVK A, XOR with block 2, then encrypt the result with 3DES
   (encrypt A, decrypt B, encrypt A);
3. decimalise: the result's hex digits 0–9 in order, then its digits A–F each minus 10;
   the first three are the CVN.

Source: the Visa card verification value procedure as published in payment HSM manuals
(e.g. Thales payShield "CW" / "CY" commands) and in EMV-era issuer host documentation; the
test vector below (CVK 0123456789ABCDEF FEDCBA9876543210, PAN 4123456789012345, expiry 8701,
service code 101 → 561) is the one those manuals print.

>>> card_verification_value(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
...                         "4123456789012345", "8701", "101")
'561'
"""

from __future__ import annotations

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, encrypt_ecb

__all__ = ["card_verification_value", "decimalise"]


def decimalise(data: bytes, digits: int) -> str:
    """The decimal digits of ``data``'s hex, then its letters minus 10; the first ``digits``."""
    text = data.hex().upper()
    ordered = [c for c in text if c.isdigit()] + [str(int(c, 16) - 10) for c in text if c > "9"]
    return "".join(ordered[:digits])


def card_verification_value(cvk: bytes, pan: str, expiry: str, service_code: str) -> str:
    """The three-digit CVN of ``pan`` with ``expiry`` (YYMM) and ``service_code``."""
    if len(cvk) != 16:
        raise UsageError("a CVK pair is 16 bytes (CVK A ‖ CVK B)", argument="cvk")
    for value, size, name in ((expiry, 4, "expiry"), (service_code, 3, "service_code")):
        if len(value) != size or not value.isdigit():
            raise UsageError(f"{size} digits", argument=name)
    if not (12 <= len(pan) <= 19 and pan.isdigit()):
        raise UsageError("12 to 19 digits", argument="pan")
    data = (pan + expiry + service_code).ljust(32, "0")
    block1, block2 = bytes.fromhex(data[:16]), bytes.fromhex(data[16:32])
    step = encrypt_ecb(Cipher.DES, cvk[:8], block1)
    mixed = bytes(a ^ b for a, b in zip(step, block2, strict=True))
    return decimalise(encrypt_ecb(Cipher.TDES, cvk, mixed), 3)
