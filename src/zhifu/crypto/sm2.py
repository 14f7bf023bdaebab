"""SM2 public-key cryptography (GB/T 32918) on the curve sm2p256v1, backed by ``gmalglib``.

Signatures are raw ``r‖s`` (64 bytes; DER on request); ciphertexts are ``C1‖C3‖C2`` (or
``C1‖C2‖C3``) with C1 as an uncompressed point ``04‖x‖y``. ZA and e = SM3(ZA‖M) are computed
here with SM3 from :mod:`zhifu.crypto.hashes`; ``gmalglib`` does the curve arithmetic.

Randomness: every key pair and every nonce k (signing and encryption) is drawn from
``secrets.token_bytes`` (the OS CSPRNG), passed explicitly to ``gmalglib`` as ``rnd_fn`` so the
choice never depends on how ``gmalglib`` was compiled (its built-in default reads
``/dev/urandom``, or C ``rand()`` in a ``SIMPLE_RANDOM`` build). ``gmalglib`` reads the 32 bytes
as a little-endian integer and draws again until it lies in [1, n-1].

>>> private_key, public_key = generate_keypair()
>>> signature = sign(private_key, b"message digest")
>>> verify(public_key, b"message digest", signature)
True
>>> decrypt(private_key, encrypt(public_key, b"encryption standard"))
b'encryption standard'
>>> p = Sm2PublicKey.from_hex("0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F3502"
...     "0CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
>>> compute_za(p).hex().upper()[:16]                  # GB/T 32918.5 annex A / T10
'B2E14C5C79C6DF5B'
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from gmalglib.sm2 import SM2

from zhifu.core.errors import DecodeError, UsageError
from zhifu.crypto import sm2_der
from zhifu.crypto.errors import CryptoError, InvalidKeyError
from zhifu.crypto.hashes import sm3
from zhifu.crypto.sm2_der import KeyForm

__all__ = [
    "DEFAULT_UID",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "compute_e",
    "compute_za",
    "decrypt",
    "encrypt",
    "generate_keypair",
    "private_key_from_der",
    "private_key_from_pem",
    "private_key_to_der",
    "private_key_to_pem",
    "public_key_from_der",
    "public_key_from_pem",
    "public_key_from_private",
    "public_key_to_der",
    "public_key_to_pem",
    "sign",
    "sign_digest",
    "signature_from_der",
    "signature_to_der",
    "verify",
    "verify_digest",
]

DEFAULT_UID = b"1234567812345678"
UID_MAX = 8191  # ENTL is 2 bytes holding the ID length in bits
_CURVE = bytes.fromhex(  # a ‖ b ‖ Gx ‖ Gy of sm2p256v1 (GB/T 32918.5 clause 4)
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)
Order = Literal["C1C3C2", "C1C2C3"]
_RETRIES = 64  # fresh nonces tried before giving up (each failure has probability <= 1/256)


def _random_bytes(n: int) -> bytes:
    """CSPRNG bytes for keys and nonces (tests may patch this to replay published k values)."""
    return secrets.token_bytes(n)


def _rnd_fn(n: int) -> bytes:
    return _random_bytes(n)


@dataclass(frozen=True, eq=False, repr=False)
class Sm2PublicKey:
    """An SM2 public key: the uncompressed point ``04‖x‖y`` (65 bytes), checked on the curve."""

    point: bytes
    _engine: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        point = bytes(self.point)
        if len(point) != 65 or point[0] != 4 or not SM2.is_pk_valid(point):
            raise InvalidKeyError("not an uncompressed sm2p256v1 point", argument="point")
        object.__setattr__(self, "point", point)
        object.__setattr__(self, "_engine", SM2(pk=point, rnd_fn=_rnd_fn))

    @property
    def x(self) -> bytes:
        """The 32-byte x coordinate."""
        return self.point[1:33]

    @property
    def y(self) -> bytes:
        """The 32-byte y coordinate."""
        return self.point[33:]

    @property
    def fingerprint(self) -> str:
        """First 8 bytes of SM3 over the point, in hex (for logs and reprs)."""
        return sm3(self.point)[:8].hex().upper()

    @classmethod
    def from_bytes(cls, data: bytes) -> Sm2PublicKey:
        """Decode ``04‖x‖y`` (65 bytes), ``x‖y`` (64) or compressed ``02|03‖x`` (33)."""
        data = bytes(data)
        if len(data) == 64:
            data = b"\x04" + data
        if len(data) not in (33, 65):
            reason = f"an SM2 public key is 33, 64 or 65 bytes, not {len(data)}"
            raise DecodeError(reason, field="public key", offset=0)
        if data[0] not in ((2, 3) if len(data) == 33 else (4,)):
            raise DecodeError(f"bad point prefix {data[0]:02X}", field="public key", offset=0)
        if not SM2.is_pk_valid(data):
            raise DecodeError("point is not on sm2p256v1", field="public key", offset=1)
        return cls(bytes(SM2.convert_pk(data)))

    @classmethod
    def from_hex(cls, text: str) -> Sm2PublicKey:
        """Decode a hex string (any of the forms :meth:`from_bytes` takes)."""
        return cls.from_bytes(_unhex(text, "public key"))

    def to_bytes(self, form: Literal["uncompressed", "xy", "compressed"] = "uncompressed") -> bytes:
        """The point as ``04‖x‖y``, ``x‖y`` or compressed ``02|03‖x``."""
        if form == "uncompressed":
            return self.point
        if form == "xy":
            return self.point[1:]
        if form == "compressed":
            return bytes(SM2.convert_pk(self.point, 1))
        raise UsageError(f"unknown point form {form!r}", argument="form")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sm2PublicKey) and self.point == other.point

    def __hash__(self) -> int:
        return hash(self.point)

    def __repr__(self) -> str:
        return f"Sm2PublicKey(fingerprint={self.fingerprint})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sm2PublicKey, (self.point,))


@dataclass(frozen=True, eq=False, repr=False)
class Sm2PrivateKey:
    """An SM2 private key d in [1, n-2] (32 bytes); its repr never shows d."""

    secret: bytes
    public_key: Sm2PublicKey = field(init=False)
    _engine: Any = field(init=False)

    def __post_init__(self) -> None:
        secret = bytes(self.secret)
        if len(secret) != 32 or not SM2.is_sk_valid(secret):
            raise InvalidKeyError(
                f"an SM2 private key is 32 bytes in [1, n-2] (got {len(secret)} bytes)",
                argument="secret",
            )
        object.__setattr__(self, "secret", secret)
        object.__setattr__(self, "public_key", Sm2PublicKey(bytes(SM2.get_pk(secret))))
        object.__setattr__(self, "_engine", SM2(sk=secret, rnd_fn=_rnd_fn))

    @classmethod
    def from_hex(cls, text: str) -> Sm2PrivateKey:
        """A private key from 64 hex digits."""
        return cls(_unhex(text, "private key"))

    def to_bytes(self) -> bytes:
        """The 32-byte secret d (handle with care)."""
        return self.secret

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sm2PrivateKey) and hmac.compare_digest(self.secret, other.secret)

    def __hash__(self) -> int:
        return hash(self.public_key)

    def __repr__(self) -> str:
        return "Sm2PrivateKey(<masked>)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sm2PrivateKey, (self.secret,))


def _unhex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise DecodeError("not a hex string", field=what) from None


def generate_keypair() -> tuple[Sm2PrivateKey, Sm2PublicKey]:
    """A fresh key pair; d comes from the OS CSPRNG (``secrets``)."""
    secret, _ = SM2(rnd_fn=_rnd_fn).generate_keypair()
    private_key = Sm2PrivateKey(bytes(secret))
    return private_key, private_key.public_key


def public_key_from_private(private_key: Sm2PrivateKey) -> Sm2PublicKey:
    """P = d·G."""
    return private_key.public_key


def _check_uid(uid: bytes) -> bytes:
    if len(uid) > UID_MAX:
        raise UsageError(f"the ID is at most {UID_MAX} bytes, not {len(uid)}", argument="uid")
    return bytes(uid)


def compute_za(public_key: Sm2PublicKey, uid: bytes = DEFAULT_UID) -> bytes:
    """ZA = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py) (GB/T 32918.2 clause 5.5)."""
    uid = _check_uid(uid)
    return sm3((len(uid) * 8).to_bytes(2, "big") + uid + _CURVE + public_key.point[1:])


def compute_e(public_key: Sm2PublicKey, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
    """The signed digest e = SM3(ZA ‖ M) (GB/T 32918.2 clause 6.1, steps A1-A2)."""
    return sm3(compute_za(public_key, uid) + bytes(message))


def sign_digest(private_key: Sm2PrivateKey, digest: bytes) -> bytes:
    """Sign a 32-byte digest e (already SM3(ZA‖M)); returns raw ``r‖s``."""
    if len(digest) != 32:
        raise UsageError(f"the digest is 32 bytes, not {len(digest)}", argument="digest")
    for _ in range(_RETRIES):
        try:
            signature = bytes(private_key._engine.sign_digest(bytes(digest)))
        except RuntimeError as exc:
            raise CryptoError("SM2 signing failed: the random source failed") from exc
        if any(signature[:32]) and any(signature[32:]):  # gmalglib gives up on a bad k
            return signature
    raise CryptoError("SM2 signing failed: no usable nonce")


def sign(private_key: Sm2PrivateKey, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
    """Sign ``message`` for the signer ID ``uid``; returns raw ``r‖s`` (64 bytes)."""
    return sign_digest(private_key, compute_e(private_key.public_key, message, uid))


def _signature_candidates(signature: bytes) -> list[bytes]:
    found = [bytes(signature)] if len(signature) == 64 else []
    if signature[:1] == b"\x30":
        with contextlib.suppress(DecodeError):
            found.append(signature_from_der(signature))
    return found


def verify_digest(public_key: Sm2PublicKey, digest: bytes, signature: bytes) -> bool:
    """Check a raw ``r‖s`` or DER signature over a 32-byte digest e; malformed -> False."""
    if len(digest) != 32:
        raise UsageError(f"the digest is 32 bytes, not {len(digest)}", argument="digest")
    for candidate in _signature_candidates(signature):
        try:
            if public_key._engine.verify_digest(bytes(digest), candidate):
                return True
        except ValueError:
            continue
    return False


def verify(
    public_key: Sm2PublicKey, message: bytes, signature: bytes, uid: bytes = DEFAULT_UID
) -> bool:
    """Check a raw ``r‖s`` or DER signature of ``message`` by ``uid``."""
    return verify_digest(public_key, compute_e(public_key, message, uid), signature)


def _check_order(order: str) -> str:
    if order not in ("C1C3C2", "C1C2C3"):
        raise UsageError(f"order is C1C3C2 or C1C2C3, not {order!r}", argument="order")
    return order


def encrypt(public_key: Sm2PublicKey, plaintext: bytes, order: Order = "C1C3C2") -> bytes:
    """SM2 public-key encryption (GB/T 32918.4); C1 is ``04‖x‖y``, C3 is 32 bytes."""
    _check_order(order)
    if not plaintext:
        raise UsageError("SM2 cannot encrypt an empty plaintext", argument="plaintext")
    for _ in range(_RETRIES):
        try:
            c1c3c2 = bytes(public_key._engine.encrypt(bytes(plaintext)))
        except RuntimeError as exc:
            raise CryptoError("SM2 encryption failed: the random source failed") from exc
        # gmalglib 0.5.9 does not redraw k when the KDF output t is all zeros (GB/T 32918.4
        # step A5): it returns C2 = t and C3 = 0^32, which nobody can decrypt. For a 1-byte
        # plaintext that happens once in 256 calls, so redraw here.
        if any(c1c3c2[65:97]):
            break
    else:
        raise CryptoError("SM2 encryption failed: no usable nonce")
    if order == "C1C3C2":
        return c1c3c2
    return c1c3c2[:65] + c1c3c2[97:] + c1c3c2[65:97]


def decrypt(private_key: Sm2PrivateKey, ciphertext: bytes, order: Order = "C1C3C2") -> bytes:
    """Decrypt; raises :class:`CryptoError` when C1 is off the curve or C3 does not match."""
    _check_order(order)
    data = bytes(ciphertext)
    if len(data) < 65 + 32 + 1:
        reason = f"{len(data)} bytes is too short for C1‖C3‖C2"
        raise DecodeError(reason, field="ciphertext", offset=len(data))
    if data[0] != 4:
        raise DecodeError("C1 must start with 04", field="C1", offset=0)
    if order == "C1C2C3":
        data = data[:65] + data[-32:] + data[65:-32]
    try:
        return bytes(private_key._engine.decrypt(data))
    except ValueError as exc:
        what = "C3 does not match" if "C3" in str(exc) else "C1 is not a valid point"
        raise CryptoError(f"SM2 decryption failed: {what}") from None


def signature_to_der(signature: bytes) -> bytes:
    """Raw ``r‖s`` (64 bytes) to DER ``SEQUENCE {r INTEGER, s INTEGER}`` (GB/T 35276)."""
    return sm2_der.encode_signature(bytes(signature))


def signature_from_der(der: bytes) -> bytes:
    """DER ``SEQUENCE {r, s}`` to raw ``r‖s``; strict DER, else :class:`DecodeError`."""
    return sm2_der.decode_signature(bytes(der))


def _point_at(point: bytes, offset: int) -> Sm2PublicKey:
    try:
        return Sm2PublicKey.from_bytes(point)
    except DecodeError as exc:
        raise DecodeError(exc.reason, field="public key", offset=offset) from None


def public_key_to_der(public_key: Sm2PublicKey) -> bytes:
    """SubjectPublicKeyInfo (RFC 5480) with id-ecPublicKey and curve 1.2.156.10197.1.301."""
    return sm2_der.encode_spki(public_key.point)


def public_key_from_der(der: bytes) -> Sm2PublicKey:
    """Decode a SubjectPublicKeyInfo holding an SM2 point (uncompressed or compressed)."""
    return _point_at(*sm2_der.decode_spki(bytes(der)))


def private_key_to_der(private_key: Sm2PrivateKey, form: KeyForm = "pkcs8") -> bytes:
    """PKCS#8 PrivateKeyInfo or SEC1 ECPrivateKey (unencrypted, public key included)."""
    return sm2_der.encode_private_key(private_key.secret, private_key.public_key.point, form)


def private_key_from_der(der: bytes) -> Sm2PrivateKey:
    """Decode PKCS#8 or SEC1; an embedded public key must match d."""
    secret, d_offset, point, point_offset = sm2_der.decode_private_key(bytes(der))
    try:
        private_key = Sm2PrivateKey(secret)
    except InvalidKeyError:
        raise DecodeError("d is not in [1, n-2]", field="privateKey", offset=d_offset) from None
    if point is not None and _point_at(point, point_offset) != private_key.public_key:
        raise DecodeError("does not match d", field="publicKey", offset=point_offset)
    return private_key


def public_key_to_pem(public_key: Sm2PublicKey) -> str:
    """``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo)."""
    return sm2_der.pem_armor("PUBLIC KEY", public_key_to_der(public_key))


def public_key_from_pem(text: str | bytes) -> Sm2PublicKey:
    """Decode the first ``PUBLIC KEY`` PEM block."""
    return public_key_from_der(sm2_der.pem_unarmor(text, ("PUBLIC KEY",))[1])


def private_key_to_pem(private_key: Sm2PrivateKey, form: KeyForm = "pkcs8") -> str:
    """``PRIVATE KEY`` (PKCS#8) or ``EC PRIVATE KEY`` (SEC1), unencrypted."""
    label = "EC PRIVATE KEY" if form == "sec1" else "PRIVATE KEY"
    return sm2_der.pem_armor(label, private_key_to_der(private_key, form))


def private_key_from_pem(text: str | bytes) -> Sm2PrivateKey:
    """Decode the first ``PRIVATE KEY``, ``EC PRIVATE KEY`` or ``SM2 PRIVATE KEY`` block."""
    return private_key_from_der(sm2_der.pem_unarmor(text, _PRIVATE_LABELS)[1])


_PRIVATE_LABELS = ("PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY")  # last: OpenSSL 3 `ec`
