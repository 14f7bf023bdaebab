"""SM2/SM3 offline data authentication formats of PBOC 3.0 (JR/T 0025.17),
docs/standards/card-terminal.md §1.7.

No RSA-style recovery: each object is clear data followed by a 64-byte SM2 signature r‖s.

- format 12, issuer public key certificate (tag 90): issuer identifier (4) ‖ expiry MMYY (2) ‖
  serial (3) ‖ signature algorithm ``04`` (SM2) ‖ encryption algorithm ``00`` (unused) ‖
  parameter ``00`` ‖ PK length ``40`` ‖ PK x‖y (64) ‖ CA signature over all preceding bytes.
- format 14, ICC public key certificate (9F46): the application PAN (10) instead of the issuer
  identifier; the issuer's signature covers the preceding bytes ‖ static data to be
  authenticated (AIP included when 9F4A asks).
- format 13, signed static application data (93): ``13`` ‖ DAC (2) ‖ issuer signature over
  ``13`` ‖ DAC ‖ static data.
- format 15, signed dynamic application data (9F4B): ``15`` ‖ LDD ‖ ICC dynamic data ‖ ICC
  signature over ``15`` ‖ LDD ‖ ICC dynamic data ‖ terminal dynamic data.

The field layouts of formats 12, 14, 13 and the ``15 ‖ LDD ‖ data ‖ signature`` shape are the
ones public PBOC kernels parse [S]. Design assumptions, marked [?] in
docs/standards/card-terminal.md §1.7:
the signed message of format 15 (mirrors EMV format 05); the signature uses ZA with the
GM/T 0009 default signer ID ``1234567812345678`` (:data:`SM2_UID`); the parameter indicator
``00`` (one CAPK table uses ``11`` for the recommended curve), accepted whatever its value.

>>> from zhifu.crypto.sm2 import generate_keypair
>>> (ca, _), (issuer, issuer_pk) = generate_keypair(), generate_keypair()
>>> cert = sign_issuer_certificate(ca, issuer_pk, "622800", "1230", b"\\x00\\x00\\x01")
>>> cert[:1].hex(), len(cert)
('12', 142)
>>> recover_issuer_key(ca.public_key, cert, "6228000100001117", date(2026, 1, 1)) == issuer_pk
True
"""

from __future__ import annotations

from datetime import date

from zhifu.card.oda.base import (
    PK_SM2,
    OdaError,
    check_expiry,
    check_issuer_id,
    check_pan_field,
    encode_expiry,
    encode_issuer_id,
    encode_pan_field,
)
from zhifu.core.errors import DecodeError, UsageError
from zhifu.crypto.sm2 import DEFAULT_UID, Sm2PrivateKey, Sm2PublicKey, sign, verify

__all__ = [
    "ISSUER_FORMAT",
    "SM2_UID",
    "recover_icc_key",
    "recover_issuer_key",
    "sign_dynamic",
    "sign_icc_certificate",
    "sign_issuer_certificate",
    "sign_static",
    "verify_dynamic",
    "verify_static",
]

ISSUER_FORMAT, SSAD_FORMAT, ICC_FORMAT, SDAD_FORMAT = 0x12, 0x13, 0x14, 0x15
SM2_UID = DEFAULT_UID  # [?] signer ID for ZA; PBOC's choice not confirmed
PARAMETER = 0x00  # [?] public key parameter indicator written into certificates
_SIG = 64
_ISSUER, _ICC = "SM2 issuer public key certificate", "SM2 ICC public key certificate"
_SSAD, _SDAD = "SM2 signed static application data", "SM2 signed dynamic application data"


def _certificate(subject: Sm2PublicKey, fmt: int, header: bytes) -> bytes:
    return bytes([fmt]) + header + bytes([PK_SM2, 0x00, PARAMETER, 64]) + subject.point[1:]


def sign_issuer_certificate(
    ca: Sm2PrivateKey,
    issuer: Sm2PublicKey,
    issuer_id_digits: str,
    expiry_mmyy: str,
    serial: bytes,
) -> bytes:
    """The SM2 issuer public key certificate (tag 90, 142 bytes)."""
    header = encode_issuer_id(issuer_id_digits) + encode_expiry(expiry_mmyy) + _serial(serial)
    body = _certificate(issuer, ISSUER_FORMAT, header)
    return body + sign(ca, body, SM2_UID)


def sign_icc_certificate(
    issuer: Sm2PrivateKey,
    icc: Sm2PublicKey,
    pan: str | bytes,
    expiry_mmyy: str,
    serial: bytes,
    *,
    static_data: bytes,
) -> bytes:
    """The SM2 ICC public key certificate (9F46, 148 bytes); ``static_data`` includes the AIP."""
    header = encode_pan_field(pan) + encode_expiry(expiry_mmyy) + _serial(serial)
    body = _certificate(icc, ICC_FORMAT, header)
    return body + sign(issuer, body + bytes(static_data), SM2_UID)


def _serial(serial: bytes) -> bytes:
    if len(serial) != 3:
        raise UsageError(f"the serial number is 3 bytes, not {len(serial)}", argument="serial")
    return bytes(serial)


def _open(
    signer: Sm2PublicKey, data: bytes, fmt: int, id_len: int, *, signed_tail: bytes, what: str
) -> tuple[bytes, bytes, bytes]:
    """Format, algorithm, length and signature checks: (identifier, expiry, point)."""
    data = bytes(data)
    at = 1 + id_len + 5  # signature algorithm indicator
    if len(data) < at + 4 + _SIG:
        raise OdaError("length", what, f"{len(data)} bytes")
    if data[0] != fmt:
        raise OdaError("format", what, f"{data[0]:02X} instead of {fmt:02X}")
    if data[at] != PK_SM2:
        raise OdaError("pk_algorithm", what, f"{data[at]:02X}")
    if data[at + 3] != 64 or len(data) != at + 4 + 64 + _SIG:
        raise OdaError("length", what, f"{len(data)} bytes, public key {data[at + 3]}")
    body, signature = data[:-_SIG], data[-_SIG:]
    if not verify(signer, body + signed_tail, signature, SM2_UID):
        raise OdaError("signature", what)
    return data[1 : 1 + id_len], data[1 + id_len : 3 + id_len], b"\x04" + body[at + 4 :]


def _point(point: bytes, what: str) -> Sm2PublicKey:
    try:
        return Sm2PublicKey.from_bytes(point)
    except DecodeError:
        raise OdaError("public_key", what) from None


def recover_issuer_key(
    ca: Sm2PublicKey, cert_90: bytes, pan: str | bytes, today: date
) -> Sm2PublicKey:
    """Check the SM2 issuer certificate against the CA key and return the issuer key."""
    issuer_id, expiry, point = _open(ca, cert_90, ISSUER_FORMAT, 4, signed_tail=b"", what=_ISSUER)
    check_issuer_id(issuer_id, pan, _ISSUER)
    check_expiry(expiry, today, _ISSUER)
    return _point(point, _ISSUER)


def recover_icc_key(
    issuer: Sm2PublicKey, cert_9f46: bytes, static_data: bytes, pan: str | bytes, today: date
) -> Sm2PublicKey:
    """Check the SM2 ICC certificate (signature over body ‖ static data) and return the key."""
    pan_field, expiry, point = _open(
        issuer, cert_9f46, ICC_FORMAT, 10, signed_tail=bytes(static_data), what=_ICC
    )
    check_pan_field(pan_field, pan, _ICC)
    check_expiry(expiry, today, _ICC)
    return _point(point, _ICC)


def sign_static(issuer: Sm2PrivateKey, static_data: bytes, dac: bytes) -> bytes:
    """Tag 93 in SM2 form: ``13`` ‖ DAC ‖ signature (67 bytes)."""
    if len(dac) != 2:
        raise UsageError(f"the data authentication code is 2 bytes, not {len(dac)}", argument="dac")
    body = bytes([SSAD_FORMAT]) + bytes(dac)
    return body + sign(issuer, body + bytes(static_data), SM2_UID)


def verify_static(issuer: Sm2PublicKey, ssad_93: bytes, static_data: bytes) -> bytes:
    """Check SM2 tag 93 and return the data authentication code."""
    data = bytes(ssad_93)
    if len(data) != 3 + _SIG:
        raise OdaError("length", _SSAD, f"{len(data)} bytes")
    if data[0] != SSAD_FORMAT:
        raise OdaError("format", _SSAD, f"{data[0]:02X} instead of {SSAD_FORMAT:02X}")
    if not verify(issuer, data[:3] + bytes(static_data), data[3:], SM2_UID):
        raise OdaError("signature", _SSAD)
    return data[1:3]


def sign_dynamic(icc: Sm2PrivateKey, icc_dynamic_data: bytes, terminal_data: bytes) -> bytes:
    """9F4B in SM2 form: ``15`` ‖ LDD ‖ ICC dynamic data ‖ signature."""
    if len(icc_dynamic_data) > 0xFF:
        raise UsageError("at most 255 bytes of ICC dynamic data", argument="icc_dynamic_data")
    body = bytes([SDAD_FORMAT, len(icc_dynamic_data)]) + bytes(icc_dynamic_data)
    return body + sign(icc, body + bytes(terminal_data), SM2_UID)


def verify_dynamic(icc: Sm2PublicKey, sdad_9f4b: bytes, terminal_data: bytes) -> bytes:
    """Check SM2 9F4B and return the ICC dynamic data."""
    data = bytes(sdad_9f4b)
    if len(data) < 2 + _SIG:
        raise OdaError("length", _SDAD, f"{len(data)} bytes")
    if data[0] != SDAD_FORMAT:
        raise OdaError("format", _SDAD, f"{data[0]:02X} instead of {SDAD_FORMAT:02X}")
    if len(data) != 2 + data[1] + _SIG:
        raise OdaError("dynamic_data", _SDAD)
    if not verify(icc, data[:-_SIG] + bytes(terminal_data), data[-_SIG:], SM2_UID):
        raise OdaError("signature", _SDAD)
    return data[2:-_SIG]
