"""Shared pieces of offline data authentication (ODA): the error, indicators, PAN and date fields.

Used by :mod:`zhifu.card.oda.rsa` (EMV Book 2 RSA formats), :mod:`zhifu.card.oda.sm2` (PBOC
JR/T 0025.17 SM2 formats) and :mod:`zhifu.card.oda.methods` (the public face).

Every failed check raises :class:`OdaError` whose ``check`` names the check (see
:data:`CHECKS`); messages never contain a PAN (at most its 6+4 masked form), a key or the
recovered data.

>>> encode_issuer_id("622800").hex().upper()
'622800FF'
>>> check_issuer_id(bytes.fromhex("622800FF"), "6228000100001117")
>>> try:
...     check_issuer_id(bytes.fromhex("622801FF"), "6228000100001117")
... except OdaError as err:
...     print(err.detail)
PAN 622800******1117
>>> try:
...     check_expiry(bytes.fromhex("1224"), date(2025, 1, 1))
... except OdaError as err:
...     print(err.check)
expired
"""

from __future__ import annotations

from datetime import date
from typing import Any

from zhifu.codec.pan import mask_pan
from zhifu.core.clock import SystemClock
from zhifu.core.errors import UsageError
from zhifu.crypto.errors import CryptoError

__all__ = [
    "CHECKS",
    "HASH_SHA1",
    "HASH_SM3",
    "PK_RSA",
    "PK_SM2",
    "OdaError",
    "check_expiry",
    "check_issuer_id",
    "check_pan_field",
    "encode_expiry",
    "encode_issuer_id",
    "encode_pan_field",
    "pan_digits",
    "today_or_now",
]

HASH_SHA1 = 0x01  # hash algorithm indicator, EMV Book 2 annex B2.3
HASH_SM3 = (
    0x07  # [?] SM3 indicator as used in UnionPay SM CAPK tables; not confirmed in a primary text
)
PK_RSA = 0x01  # public key algorithm indicator, EMV Book 2 annex B2.3
PK_SM2 = 0x04  # SM2 signature algorithm identifier (JR/T 0025.17, seen in kernels)

CHECKS = {
    "ca_index": "the CA public key index (8F) does not name this key",
    "capk_checksum": "the CA public key check value does not match",
    "length": "the data does not have the signer's key length",
    "recovery": "the data is not below the signer's modulus",
    "trailer": "the recovered data trailer is not BC",
    "header": "the recovered data header is not 6A",
    "format": "the certificate or signed data format is wrong",
    "hash_algorithm": "the hash algorithm indicator is not supported",
    "hash": "the hash result does not match",
    "signature": "the SM2 signature does not verify",
    "issuer_id": "the issuer identifier does not match the PAN",
    "pan": "the certificate PAN does not match the application PAN",
    "expiry": "the certificate expiry date is not a valid MMYY",
    "expired": "the certificate has expired",
    "pk_algorithm": "the public key algorithm indicator is not supported",
    "public_key": "the recovered public key is malformed",
    "dynamic_data": "the ICC dynamic data length is inconsistent",
    "card_un": "the ICC dynamic number differs from the card unpredictable number in 9F69",
    "cda_cid": "the cryptogram information data differs from the one the card signed",
    "cda_hash": "the transaction data hash code does not match the exchanged data",
}


class OdaError(CryptoError):
    """Offline data authentication failed; ``check`` names the failed check (a key of CHECKS).

    >>> str(OdaError("trailer", "issuer public key certificate"))
    'issuer public key certificate: the recovered data trailer is not BC'
    """

    def __init__(self, check: str, what: str, detail: str = "") -> None:
        self.check = check
        self.what = what
        self.detail = detail
        text = CHECKS.get(check, check)
        super().__init__(f"{what}: {text}" + (f" ({detail})" if detail else ""))

    def __reduce__(self) -> tuple[Any, ...]:
        return (OdaError, (self.check, self.what, self.detail))


def pan_digits(pan: str | bytes) -> str:
    """The PAN as a digit string; bytes are tag 5A (packed BCD, trailing F padding)."""
    text = pan.hex().upper().rstrip("F") if isinstance(pan, bytes | bytearray) else str(pan)
    if not (text.isascii() and text.isdigit() and 12 <= len(text) <= 19):
        raise UsageError(f"a PAN is 12 to 19 digits (got {len(text)} characters)", argument="pan")
    return text


def encode_issuer_id(issuer_id_digits: str) -> bytes:
    """Issuer identifier (cn8): 3 to 8 leftmost PAN digits padded with ``F`` to 4 bytes."""
    text = str(issuer_id_digits)
    if not (text.isascii() and text.isdigit() and 3 <= len(text) <= 8):
        raise UsageError("the issuer identifier is 3 to 8 digits", argument="issuer_id_digits")
    return bytes.fromhex(text.ljust(8, "F"))


def check_issuer_id(field: bytes, pan: str | bytes, what: str = "issuer certificate") -> None:
    """EMV Book 2 5.3 step 8: the identifier matches the leftmost 3-8 PAN digits."""
    text = field.hex().upper().rstrip("F")
    if not (text.isdigit() and 3 <= len(text) <= 8):
        raise OdaError("issuer_id", what, "not 3 to 8 digits")
    if not pan_digits(pan).startswith(text):
        raise OdaError("issuer_id", what, f"PAN {mask_pan(pan_digits(pan))}")


def encode_pan_field(pan: str | bytes) -> bytes:
    """Application PAN (cn20): the PAN padded with ``F`` to 10 bytes."""
    return bytes.fromhex(pan_digits(pan).ljust(20, "F"))


def check_pan_field(field: bytes, pan: str | bytes, what: str = "ICC certificate") -> None:
    """EMV Book 2 6.4 step 8: the certified PAN equals the application PAN (5A)."""
    if field != encode_pan_field(pan):
        raise OdaError("pan", what, f"PAN {mask_pan(pan_digits(pan))}")


def encode_expiry(expiry_mmyy: str) -> bytes:
    """Certificate expiration date MMYY (n4) as 2 bytes."""
    text = str(expiry_mmyy)
    if not (len(text) == 4 and text.isascii() and text.isdigit() and 1 <= int(text[:2]) <= 12):
        raise UsageError("the expiry is MMYY with MM 01-12", argument="expiry_mmyy")
    return bytes.fromhex(text)


def check_expiry(field: bytes, today: date, what: str = "certificate") -> None:
    """The certificate is valid to the last day of its MMYY month (EMV Book 2 5.3 step 9).

    YY below 50 is 20YY, otherwise 19YY (the EMV convention for 2-digit years).
    """
    text = field.hex()
    if not (len(text) == 4 and text.isdigit() and 1 <= int(text[:2]) <= 12):
        raise OdaError("expiry", what)
    month, year = int(text[:2]), int(text[2:])
    year += 2000 if year < 50 else 1900
    if (today.year, today.month) > (year, month):
        raise OdaError("expired", what, f"expiry {text[:2]}/{text[2:]}")


def today_or_now(today: date | None) -> date:
    """``today``, or the current date in Asia/Shanghai."""
    return today if today is not None else SystemClock().now().date()
