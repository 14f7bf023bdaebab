"""RSA offline data authentication formats of EMV 4.3 Book 2 (docs/standards/card-terminal.md §2.6).

Recovered data = ``6A`` ‖ format ‖ ... ‖ SHA-1 hash (20) ‖ ``BC``, signed with raw RSA:

- format 02, issuer public key certificate (tag 90, length NCA): issuer identifier (4),
  expiry MMYY (2), serial (3), hash algorithm ``01``, PK algorithm ``01``, NI (1), exponent
  length (1), the issuer modulus or its leftmost NCA − 36 bytes (padded with ``BB`` when it
  fits); the rest of the modulus is the remainder (tag 92). Hash over format .. modulus field
  ‖ remainder ‖ exponent (EMV Book 2 5.3).
- format 04, ICC public key certificate (9F46, length NI): PAN (10) instead of the issuer
  identifier, room NI − 42; the hash also covers the static data to be authenticated (6.4).
- format 03, signed static application data (93, length NI): hash algorithm, data
  authentication code (2), ``BB`` × (NI − 26); hash over format .. padding ‖ static data (5.4).
- format 05, signed dynamic application data (9F4B, length NIC): hash algorithm, LDD (1),
  ICC dynamic data, ``BB`` × (NIC − LDD − 25); hash over format .. padding ‖ terminal data (6.5).

>>> from zhifu.crypto.rsa import generate_rsa_key
>>> ca, issuer = generate_rsa_key(1024, 3), generate_rsa_key(1024, 3)
>>> cert, remainder, exponent = sign_issuer_certificate(
...     ca, issuer.public_key, "622800", "1230", b"\\x00\\x00\\x01")
>>> len(cert), len(remainder), exponent.hex()
(128, 36, '03')
>>> recover_issuer_key(ca.public_key, cert, remainder, exponent, pan="6228000100001117",
...     today=date(2026, 1, 1)) == issuer.public_key
True
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date

from zhifu.card.oda.base import (
    HASH_SHA1,
    PK_RSA,
    OdaError,
    check_expiry,
    check_issuer_id,
    check_pan_field,
    encode_expiry,
    encode_issuer_id,
    encode_pan_field,
)
from zhifu.core.errors import UsageError
from zhifu.crypto.errors import InvalidKeyError
from zhifu.crypto.hashes import Hash, digest
from zhifu.crypto.rsa import (
    RsaPrivateKey,
    RsaPublicKey,
    public_key_from_modulus,
    rsa_private_raw,
    rsa_public_raw,
)

__all__ = [
    "RsaCertificate",
    "exponent_bytes",
    "open_certificate",
    "recover_icc_key",
    "recover_issuer_key",
    "sign_dynamic",
    "sign_icc_certificate",
    "sign_issuer_certificate",
    "sign_static",
    "verify_dynamic",
    "verify_static",
]

ISSUER_FORMAT, SSAD_FORMAT, ICC_FORMAT, SDAD_FORMAT = 0x02, 0x03, 0x04, 0x05
_ISSUER, _ICC = "issuer public key certificate", "ICC public key certificate"
_SSAD, _SDAD = "signed static application data", "signed dynamic application data"


@dataclass(frozen=True)
class RsaCertificate:
    """The fields of a recovered format 02/04 certificate (EMV Book 2 tables 6 and 14)."""

    header: int
    format: int
    identifier: bytes  # issuer identifier (4) or application PAN (10)
    expiry: bytes
    serial: bytes
    hash_algorithm: int
    pk_algorithm: int
    pk_length: int
    exponent_length: int
    pk_field: bytes
    hash_result: bytes
    trailer: int

    def __repr__(self) -> str:  # the identifier may be a PAN
        return f"RsaCertificate(format={self.format:02X}, pk_length={self.pk_length})"


def exponent_bytes(public_key: RsaPublicKey) -> bytes:
    """The exponent as EMV carries it (9F32/9F47): ``03`` or ``010001``."""
    e = public_key.exponent
    return e.to_bytes((e.bit_length() + 7) // 8, "big")


def _sha1(*parts: bytes) -> bytes:
    return digest(Hash.SHA1, b"".join(parts))


def _sign(signer: RsaPrivateKey, body: bytes, hashed_tail: bytes) -> bytes:
    block = b"\x6a" + body + _sha1(body, hashed_tail) + b"\xbc"
    return rsa_private_raw(signer, block)


def _recover(signer: RsaPublicKey, data: bytes, fmt: int, what: str) -> bytes:
    """Steps 1-4 of every recovery: length, RSA recovery, trailer, header, format."""
    if len(data) != signer.size:
        raise OdaError("length", what, f"{len(data)} bytes, key {signer.size}")
    if int.from_bytes(data, "big") >= signer.modulus:
        raise OdaError("recovery", what)
    block = rsa_public_raw(signer, bytes(data))
    if block[-1] != 0xBC:
        raise OdaError("trailer", what)
    if block[0] != 0x6A:
        raise OdaError("header", what)
    if block[1] != fmt:
        raise OdaError("format", what, f"{block[1]:02X} instead of {fmt:02X}")
    return block


def _check_hash(block: bytes, alg_at: int, hashed_tail: bytes, what: str) -> None:
    """The hash algorithm indicator at ``alg_at`` is SHA-1 and the hash result matches."""
    if block[alg_at] != HASH_SHA1:
        raise OdaError("hash_algorithm", what, f"{block[alg_at]:02X}")
    if not hmac.compare_digest(_sha1(block[1:-21], hashed_tail), block[-21:-1]):
        raise OdaError("hash", what)


# ------------------------------------------------------------------------------- certificates


def _certificate(
    signer: RsaPrivateKey,
    subject: RsaPublicKey,
    fmt: int,
    header: bytes,
    hashed_extra: bytes,
) -> tuple[bytes, bytes, bytes]:
    room = signer.size - len(header) - 27  # 6A, format, 4 indicator bytes, hash, BC
    if subject.size > signer.size:
        raise UsageError("the certified key is longer than the signer's", argument="bits")
    modulus, exponent = subject.modulus_bytes(), exponent_bytes(subject)
    if len(modulus) <= room:
        field, remainder = modulus + b"\xbb" * (room - len(modulus)), b""
    else:
        field, remainder = modulus[:room], modulus[room:]
    indicators = bytes([HASH_SHA1, PK_RSA, len(modulus), len(exponent)])
    body = bytes([fmt]) + header + indicators + field
    return _sign(signer, body, remainder + exponent + hashed_extra), remainder, exponent


def sign_issuer_certificate(
    ca: RsaPrivateKey, issuer: RsaPublicKey, issuer_id_digits: str, expiry_mmyy: str, serial: bytes
) -> tuple[bytes, bytes, bytes]:
    """Issuer public key certificate (90), remainder (92, may be empty), exponent (9F32)."""
    header = encode_issuer_id(issuer_id_digits) + encode_expiry(expiry_mmyy) + _serial(serial)
    return _certificate(ca, issuer, ISSUER_FORMAT, header, b"")


def sign_icc_certificate(
    issuer: RsaPrivateKey,
    icc: RsaPublicKey,
    pan: str | bytes,
    expiry_mmyy: str,
    serial: bytes,
    *,
    static_data: bytes,
) -> tuple[bytes, bytes, bytes]:
    """ICC public key certificate (9F46), remainder (9F48), exponent (9F47).

    ``static_data`` is the static data to be authenticated, AIP already appended if 9F4A
    asks for it.
    """
    header = encode_pan_field(pan) + encode_expiry(expiry_mmyy) + _serial(serial)
    return _certificate(issuer, icc, ICC_FORMAT, header, bytes(static_data))


def _serial(serial: bytes) -> bytes:
    if len(serial) != 3:
        raise UsageError(f"the serial number is 3 bytes, not {len(serial)}", argument="serial")
    return bytes(serial)


def open_certificate(block: bytes) -> RsaCertificate:
    """Split recovered format 02/04 data into its fields (no check is made here)."""
    id_len = 4 if block[1] == ISSUER_FORMAT else 10
    i = 2 + id_len
    return RsaCertificate(
        header=block[0],
        format=block[1],
        identifier=block[2:i],
        expiry=block[i : i + 2],
        serial=block[i + 2 : i + 5],
        hash_algorithm=block[i + 5],
        pk_algorithm=block[i + 6],
        pk_length=block[i + 7],
        exponent_length=block[i + 8],
        pk_field=block[i + 9 : -21],
        hash_result=block[-21:-1],
        trailer=block[-1],
    )


def _public_key(cert: RsaCertificate, remainder: bytes, exponent: bytes, what: str) -> RsaPublicKey:
    """EMV Book 2 5.3 steps 11-12: the algorithm, then the modulus from field ‖ remainder."""
    if cert.pk_algorithm != PK_RSA:
        raise OdaError("pk_algorithm", what)
    if cert.exponent_length != len(exponent) or exponent not in (b"\x03", b"\x01\x00\x01"):
        raise OdaError("public_key", what, "exponent")
    field = cert.pk_field
    modulus = field[: cert.pk_length] if cert.pk_length <= len(field) else field + remainder
    if len(modulus) != cert.pk_length:
        raise OdaError("public_key", what, "modulus length and remainder disagree")
    try:
        return public_key_from_modulus(modulus, exponent)
    except InvalidKeyError:
        raise OdaError("public_key", what) from None


def recover_issuer_key(
    ca: RsaPublicKey,
    cert_90: bytes,
    remainder_92: bytes,
    exponent_9f32: bytes,
    *,
    pan: str | bytes,
    today: date,
) -> RsaPublicKey:
    """EMV Book 2 5.3: check the certificate and return the issuer public key."""
    remainder, exponent = bytes(remainder_92), bytes(exponent_9f32)
    block = _recover(ca, cert_90, ISSUER_FORMAT, _ISSUER)
    _check_hash(block, 11, remainder + exponent, _ISSUER)
    cert = open_certificate(block)
    check_issuer_id(cert.identifier, pan, _ISSUER)
    check_expiry(cert.expiry, today, _ISSUER)
    return _public_key(cert, remainder, exponent, _ISSUER)


def recover_icc_key(
    issuer: RsaPublicKey,
    cert_9f46: bytes,
    remainder_9f48: bytes,
    exponent_9f47: bytes,
    *,
    static_data: bytes,
    pan: str | bytes,
    today: date,
) -> RsaPublicKey:
    """EMV Book 2 6.4: check the ICC certificate (``static_data`` includes the AIP if asked)."""
    remainder, exponent = bytes(remainder_9f48), bytes(exponent_9f47)
    block = _recover(issuer, cert_9f46, ICC_FORMAT, _ICC)
    _check_hash(block, 17, remainder + exponent + bytes(static_data), _ICC)
    cert = open_certificate(block)
    check_pan_field(cert.identifier, pan, _ICC)
    check_expiry(cert.expiry, today, _ICC)
    return _public_key(cert, remainder, exponent, _ICC)


# ---------------------------------------------------------------------------- signed data


def sign_static(issuer: RsaPrivateKey, static_data: bytes, dac: bytes) -> bytes:
    """Signed static application data (93), format 03; ``dac`` is the 2-byte 9F45."""
    if len(dac) != 2:
        raise UsageError(f"the data authentication code is 2 bytes, not {len(dac)}", argument="dac")
    body = bytes([SSAD_FORMAT, HASH_SHA1]) + bytes(dac) + b"\xbb" * (issuer.size - 26)
    return _sign(issuer, body, bytes(static_data))


def verify_static(issuer: RsaPublicKey, ssad_93: bytes, static_data: bytes) -> bytes:
    """EMV Book 2 5.4: check tag 93 and return the data authentication code (9F45)."""
    block = _recover(issuer, ssad_93, SSAD_FORMAT, _SSAD)
    _check_hash(block, 2, bytes(static_data), _SSAD)
    return block[3:5]


def sign_dynamic(icc: RsaPrivateKey, icc_dynamic_data: bytes, terminal_data: bytes) -> bytes:
    """Signed dynamic application data (9F4B), format 05, over ICC and terminal dynamic data."""
    ldd = len(icc_dynamic_data)
    if ldd > icc.size - 25:
        raise UsageError(f"{ldd} bytes of ICC dynamic data do not fit", argument="icc_dynamic_data")
    pad = b"\xbb" * (icc.size - ldd - 25)
    body = bytes([SDAD_FORMAT, HASH_SHA1, ldd]) + bytes(icc_dynamic_data) + pad
    return _sign(icc, body, bytes(terminal_data))


def verify_dynamic(icc: RsaPublicKey, sdad_9f4b: bytes, terminal_data: bytes) -> bytes:
    """EMV Book 2 6.5.2: check 9F4B and return the ICC dynamic data."""
    block = _recover(icc, sdad_9f4b, SDAD_FORMAT, _SDAD)
    ldd = block[3]
    if ldd > icc.size - 25:
        raise OdaError("dynamic_data", _SDAD)
    _check_hash(block, 2, bytes(terminal_data), _SDAD)
    return block[4 : 4 + ldd]
