"""DER (X.690) and PEM (RFC 7468) for the fixed SM2 structures, on plain bytes.

Structures: the signature ``SEQUENCE {r, s}`` (GB/T 35276), SubjectPublicKeyInfo (RFC 5480)
with id-ecPublicKey and the curve OID 1.2.156.10197.1.301, PKCS#8 PrivateKeyInfo (RFC 5208)
and SEC1 ECPrivateKey (RFC 5915). Decoding is strict DER; every failure is a
:class:`~zhifu.core.errors.DecodeError` with the byte offset. Curve checks (is the point on
sm2p256v1, is d in range) are left to :mod:`zhifu.crypto.sm2`, which wraps these functions.

>>> decode_signature(encode_signature(bytes(31) + b"\\x01" + b"\\xff" * 32))[31:33].hex()
'01ff'
>>> encode_spki(b"\\x04" + bytes(64))[:6].hex()
'305930130607'
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal

from zhifu.core.errors import DecodeError, UsageError

OID_EC_PUBLIC_KEY = bytes.fromhex("06072A8648CE3D0201")  # 1.2.840.10045.2.1
OID_SM2 = bytes.fromhex("06082A811CCF5501822D")  # 1.2.156.10197.1.301
_ALGORITHM = OID_EC_PUBLIC_KEY + OID_SM2
KeyForm = Literal["pkcs8", "sec1"]


def tlv(tag: int, content: bytes) -> bytes:
    """Encode one DER TLV (definite, minimal length)."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def read_tlv(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """Read a TLV with ``tag`` at ``pos`` inside ``data[:end]``: (value start, value end)."""
    if pos + 2 > end or data[pos] != tag:
        raise DecodeError(f"expected tag {tag:02X}", field=what, offset=pos)
    length, start = data[pos + 1], pos + 2
    if length >= 0x80:
        size = length & 0x7F
        if size not in (1, 2) or start + size > end:
            raise DecodeError("bad length", field=what, offset=pos + 1)
        length = int.from_bytes(data[start : start + size], "big")
        if length < 0x80 or (size == 2 and length < 0x100):
            raise DecodeError("non-minimal length", field=what, offset=pos + 1)
        start += size
    if start + length > end:
        raise DecodeError("value runs past the end", field=what, offset=start)
    return start, start + length


def _expect(data: bytes, pos: int, end: int, expected: bytes, what: str) -> int:
    if pos + len(expected) > end or data[pos : pos + len(expected)] != expected:
        raise DecodeError(f"unexpected {what}", field=what, offset=pos)
    return pos + len(expected)


def _done(pos: int, end: int, what: str) -> None:
    if pos != end:
        raise DecodeError("trailing bytes", field=what, offset=pos)


def _uint(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _read_uint(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = read_tlv(data, pos, end, 0x02, what)
    body = data[start:stop]
    if not body or body[0] & 0x80 or (len(body) > 1 and body[0] == 0 and body[1] < 0x80):
        raise DecodeError("not a minimal non-negative INTEGER", field=what, offset=start)
    if len(body.lstrip(b"\x00")) > 32:
        raise DecodeError("INTEGER longer than 32 bytes", field=what, offset=start)
    return int.from_bytes(body, "big"), stop


def encode_signature(raw: bytes) -> bytes:
    """Raw ``r‖s`` (64 bytes) to DER ``SEQUENCE {r INTEGER, s INTEGER}``."""
    if len(raw) != 64:
        raise UsageError(f"a raw SM2 signature is 64 bytes, not {len(raw)}", argument="signature")
    return tlv(
        0x30, _uint(int.from_bytes(raw[:32], "big")) + _uint(int.from_bytes(raw[32:], "big"))
    )


def decode_signature(der: bytes) -> bytes:
    """DER ``SEQUENCE {r, s}`` to raw ``r‖s`` (64 bytes)."""
    start, end = read_tlv(der, 0, len(der), 0x30, "signature")
    _done(end, len(der), "signature")
    r, pos = _read_uint(der, start, end, "r")
    s, pos = _read_uint(der, pos, end, "s")
    _done(pos, end, "signature")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _bit_string(point: bytes) -> bytes:
    return tlv(0x03, b"\x00" + point)


def _read_bit_string(der: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = read_tlv(der, pos, end, 0x03, what)
    return _expect(der, start, stop, b"\x00", "unused bits"), stop


def encode_spki(point: bytes) -> bytes:
    """SubjectPublicKeyInfo around an encoded point."""
    return tlv(0x30, tlv(0x30, _ALGORITHM) + _bit_string(point))


def decode_spki(der: bytes) -> tuple[bytes, int]:
    """The point bytes inside a SubjectPublicKeyInfo and their offset."""
    start, end = read_tlv(der, 0, len(der), 0x30, "SubjectPublicKeyInfo")
    _done(end, len(der), "SubjectPublicKeyInfo")
    alg_start, alg_end = read_tlv(der, start, end, 0x30, "algorithm")
    _done(_expect(der, alg_start, alg_end, _ALGORITHM, "algorithm"), alg_end, "algorithm")
    point_start, point_end = _read_bit_string(der, alg_end, end, "subjectPublicKey")
    _done(point_end, end, "SubjectPublicKeyInfo")
    return der[point_start:point_end], point_start


def encode_private_key(secret: bytes, point: bytes, form: KeyForm = "pkcs8") -> bytes:
    """PKCS#8 (RFC 5208, as OpenSSL writes it) or SEC1 (RFC 5915) around d and P."""
    body = b"\x02\x01\x01" + tlv(0x04, secret)
    public = tlv(0xA1, _bit_string(point))
    if form == "sec1":
        return tlv(0x30, body + tlv(0xA0, OID_SM2) + public)
    if form == "pkcs8":
        wrapped = tlv(0x04, tlv(0x30, body + public))
        return tlv(0x30, b"\x02\x01\x00" + tlv(0x30, _ALGORITHM) + wrapped)
    raise UsageError(f"form is pkcs8 or sec1, not {form!r}", argument="form")


PrivateParts = tuple[bytes, int, bytes | None, int]


def decode_private_key(der: bytes) -> PrivateParts:
    """(d, offset of d, point or None, offset of point) from PKCS#8 or SEC1 (version 0 or 1)."""
    start, end = read_tlv(der, 0, len(der), 0x30, "private key")
    _done(end, len(der), "private key")
    if der[start : start + 3] == b"\x02\x01\x01":
        return _decode_sec1(der, start, end)
    pos = _expect(der, start, end, b"\x02\x01\x00", "version")
    alg_start, alg_end = read_tlv(der, pos, end, 0x30, "algorithm")
    _done(_expect(der, alg_start, alg_end, _ALGORITHM, "algorithm"), alg_end, "algorithm")
    key_start, key_end = read_tlv(der, alg_end, end, 0x04, "privateKey")
    _done(key_end, end, "PrivateKeyInfo")  # no attributes
    seq_start, seq_end = read_tlv(der, key_start, key_end, 0x30, "ECPrivateKey")
    _done(seq_end, key_end, "ECPrivateKey")
    return _decode_sec1(der, seq_start, seq_end)


def _decode_sec1(der: bytes, start: int, end: int) -> PrivateParts:
    pos = _expect(der, start, end, b"\x02\x01\x01", "version")
    d_start, pos = read_tlv(der, pos, end, 0x04, "privateKey")
    if pos - d_start != 32:
        raise DecodeError("d is not 32 bytes", field="privateKey", offset=d_start)
    if pos < end and der[pos] == 0xA0:
        oid_start, pos = read_tlv(der, pos, end, 0xA0, "parameters")
        _done(_expect(der, oid_start, pos, OID_SM2, "parameters"), pos, "parameters")
    point, point_start = None, pos
    if pos < end:
        bits_start, pos = read_tlv(der, pos, end, 0xA1, "publicKey")
        point_start, point_end = _read_bit_string(der, bits_start, pos, "publicKey")
        _done(point_end, pos, "publicKey")
        point = der[point_start:point_end]
    _done(pos, end, "ECPrivateKey")
    return der[d_start : d_start + 32], d_start, point, point_start


def pem_armor(label: str, der: bytes) -> str:
    """Wrap DER in ``-----BEGIN label-----`` lines of 64 base64 characters."""
    body = base64.b64encode(der).decode("ascii")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def pem_unarmor(text: str | bytes, labels: tuple[str, ...]) -> tuple[str, bytes]:
    """(label, DER) of the first PEM block whose label is one of ``labels``."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    pattern = r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----"
    for found in re.finditer(pattern, text, re.DOTALL):
        if found.group(1) in labels:
            try:
                der = base64.b64decode("".join(found.group(2).split()), validate=True)
            except binascii.Error:
                raise DecodeError("bad base64", field="PEM", offset=found.start(2)) from None
            return found.group(1), der
    raise DecodeError(f"no PEM block labelled {' or '.join(labels)}", field="PEM", offset=0)
