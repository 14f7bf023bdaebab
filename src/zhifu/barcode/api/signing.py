"""Signed requests and notifications: the canonical string, the headers, SM2 or RSA keys.

A request (merchant or institution -> zhifu) and a notification (zhifu -> merchant) carry::

    Zhifu-Key-Id:    the signer's registered key id ([A-Za-z0-9_.:-], 1-64)
    Zhifu-Timestamp: Unix time in seconds (decimal)
    Zhifu-Nonce:     16-64 characters of [A-Za-z0-9_-], never reused by this signer
    Zhifu-Signature: "SM2-SM3 " or "RSA-SHA256 " + base64 of the signature

and the signature covers the canonical string (UTF-8 lines ending in ``\\n``, then the raw body
bytes exactly as sent)::

    ZHIFU-SIGN-1\\n METHOD\\n /path?query\\n key_id\\n timestamp\\n nonce\\n body

``SM2-SM3`` is SM2 with e = SM3(ZA || M) and the default signer ID ``1234567812345678``
(GB/T 32918.2, GM/T 0009), signature ``r || s`` (64 bytes; DER is accepted on verify);
``RSA-SHA256`` is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017). The algorithm named in the header
must be the algorithm the key was registered with. The receiver also refuses a timestamp more
than :data:`WINDOW_SECONDS` away from its clock and a nonce it has seen (see
:mod:`zhifu.barcode.api.auth`).

>>> from zhifu.crypto import sm2
>>> private, public = sm2.generate_keypair()
>>> signer = SigningKey("M100001-k1", "SM2-SM3", private)
>>> h = sign_headers(signer, "POST", "/v1/micropay", b"{}", timestamp=1764050000,
...                  nonce="n0nce-0123456789ab")
>>> parts = parse_headers(h)
>>> VerifyingKey("M100001-k1", "merchant:M100001", "SM2-SM3", public).verify(
...     canonical_request("POST", "/v1/micropay", parts.key_id, parts.timestamp, parts.nonce,
...                       b"{}"), parts.signature)
True
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from zhifu.barcode.api.errors import BarcodeError
from zhifu.core.errors import DecodeError, UsageError, ZhifuError
from zhifu.crypto import rsa, sm2

SCHEME: Final = "ZHIFU-SIGN-1"
WINDOW_SECONDS: Final = 300
ALGORITHMS: Final = ("SM2-SM3", "RSA-SHA256")
H_KEY_ID: Final = "Zhifu-Key-Id"
H_TIMESTAMP: Final = "Zhifu-Timestamp"
H_NONCE: Final = "Zhifu-Nonce"
H_SIGNATURE: Final = "Zhifu-Signature"
H_EVENT_ID: Final = "Zhifu-Event-Id"
HEADERS: Final = (H_KEY_ID, H_TIMESTAMP, H_NONCE, H_SIGNATURE)

_KEY_ID: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_NONCE: Final = re.compile(r"[A-Za-z0-9_\-]{16,64}")
_TIMESTAMP: Final = re.compile(r"\d{1,12}")

PrivateKey = sm2.Sm2PrivateKey | rsa.RsaPrivateKey
PublicKey = sm2.Sm2PublicKey | rsa.RsaPublicKey


def canonical_request(  # noqa: PLR0917 - the lines of the canonical string, in order
    method: str, path: str, key_id: str, timestamp: int, nonce: str, body: bytes
) -> bytes:
    """The bytes a signature covers (see the module docstring)."""
    lines = (SCHEME, method.upper(), path, key_id, str(timestamp), nonce)
    if any("\n" in line for line in lines):
        raise UsageError("no line of the canonical string may hold a newline", argument="path")
    return ("\n".join(lines) + "\n").encode("utf-8") + bytes(body)


def _check_algorithm(algorithm: str, key: PrivateKey | PublicKey) -> None:
    sm2_key = isinstance(key, sm2.Sm2PrivateKey | sm2.Sm2PublicKey)
    if algorithm not in ALGORITHMS or (algorithm == "SM2-SM3") != sm2_key:
        raise UsageError(f"a {type(key).__name__} cannot do {algorithm!r}", argument="algorithm")


@dataclass(frozen=True, repr=False)
class SigningKey:
    """A signer: its key id, algorithm and private key (never shown by ``repr``)."""

    key_id: str
    algorithm: str
    private_key: PrivateKey

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise UsageError("a key id is 1-64 of A-Z a-z 0-9 _ . : -", argument="key_id")
        _check_algorithm(self.algorithm, self.private_key)

    def __repr__(self) -> str:
        return f"SigningKey({self.key_id!r}, {self.algorithm!r}, <private key>)"

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private_key, sm2.Sm2PrivateKey):
            return sm2.sign(self.private_key, message)
        return rsa.sign(self.private_key, message)


@dataclass(frozen=True)
class VerifyingKey:
    """A registered public key: who it speaks for (``principal``) and with what algorithm.

    ``principal`` is ``merchant:<merchant_id>``, ``institution:<id>`` or ``platform:<id>``.
    """

    key_id: str
    principal: str
    algorithm: str
    public_key: PublicKey

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise UsageError("a key id is 1-64 of A-Z a-z 0-9 _ . : -", argument="key_id")
        _check_algorithm(self.algorithm, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            if isinstance(self.public_key, sm2.Sm2PublicKey):
                return sm2.verify(self.public_key, message, signature)
            return rsa.verify(self.public_key, message, signature)
        except (ZhifuError, ValueError):
            return False


@dataclass(frozen=True, slots=True)
class SignedParts:
    """The signature headers of a request, checked for form (not yet verified)."""

    key_id: str
    timestamp: int
    nonce: str
    algorithm: str
    signature: bytes


def sign_headers(
    key: SigningKey, method: str, path: str, body: bytes, *, timestamp: int, nonce: str
) -> dict[str, str]:
    """The four signature headers for a request (or a notification)."""
    if not _NONCE.fullmatch(nonce):
        raise UsageError("a nonce is 16-64 of A-Z a-z 0-9 _ -", argument="nonce")
    message = canonical_request(method, path, key.key_id, timestamp, nonce, body)
    signature = base64.b64encode(key.sign(message)).decode("ascii")
    return {
        H_KEY_ID: key.key_id,
        H_TIMESTAMP: str(timestamp),
        H_NONCE: nonce,
        H_SIGNATURE: f"{key.algorithm} {signature}",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if value is not None else headers.get(name.lower())


def parse_headers(headers: Mapping[str, str]) -> SignedParts:
    """The signature headers, or ``signature_missing`` / ``signature_invalid``."""
    values = [_header(headers, name) for name in HEADERS]
    if any(v is None for v in values):
        raise BarcodeError("signature_missing")
    key_id, timestamp, nonce, signature = (str(v) for v in values)
    algorithm, _, b64 = signature.partition(" ")
    if not _KEY_ID.fullmatch(key_id):
        raise BarcodeError("key_unknown", "the key id is not of the registered form")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise BarcodeError("timestamp_stale", "the timestamp is not Unix seconds")
    if not _NONCE.fullmatch(nonce):
        raise BarcodeError("signature_invalid", "the nonce is not 16-64 of A-Z a-z 0-9 _ -")
    if algorithm not in ALGORITHMS:
        raise BarcodeError("signature_invalid", "the signature names no known algorithm")
    try:
        raw = base64.b64decode(b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BarcodeError("signature_invalid", "the signature is not base64") from None
    return SignedParts(key_id, int(timestamp), nonce, algorithm, raw)


def check_timestamp(timestamp: int, now: float, window: int = WINDOW_SECONDS) -> None:
    """Refuse a timestamp more than ``window`` seconds before or after ``now``."""
    if abs(now - timestamp) > window:
        raise BarcodeError("timestamp_stale")


def load_private_key(pem: str | bytes) -> tuple[str, PrivateKey]:
    """(algorithm, key) of a PKCS#8 / SEC1 SM2 or PKCS#1 / PKCS#8 RSA private key in PEM."""
    try:
        return "SM2-SM3", sm2.private_key_from_pem(pem)
    except (ZhifuError, ValueError):
        pass
    try:
        return "RSA-SHA256", rsa.private_key_from_pem(pem)
    except Exception:  # cryptography raises several kinds for a foreign key
        raise DecodeError("not an SM2 or RSA private key in PEM", field="key") from None


def load_public_key(pem: str | bytes) -> tuple[str, PublicKey]:
    """(algorithm, key) of an SM2 or RSA public key in PEM (SubjectPublicKeyInfo)."""
    try:
        return "SM2-SM3", sm2.public_key_from_pem(pem)
    except (ZhifuError, ValueError):
        pass
    try:
        return "RSA-SHA256", rsa.public_key_from_pem(pem)
    except Exception:  # cryptography raises several kinds for a foreign key
        raise DecodeError("not an SM2 or RSA public key in PEM", field="key") from None


def public_key_pem(key: PublicKey) -> str:
    """The PEM (SubjectPublicKeyInfo) of a public key."""
    if isinstance(key, sm2.Sm2PublicKey):
        return sm2.public_key_to_pem(key)
    return rsa.public_key_to_pem(key)
