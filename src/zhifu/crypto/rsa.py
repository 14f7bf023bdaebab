"""RSA for EMV offline data authentication, key download and host signatures, on ``cryptography``.

Padded operations (PKCS #1 v1.5 and PSS signatures, OAEP and PKCS #1 v1.5 encryption; RFC 8017)
go through OpenSSL. Raw RSA (:func:`rsa_public_raw`, :func:`rsa_private_raw`) is the bare
modular exponentiation EMV Book 2 uses to recover certificates and signed data: the block has
exactly the modulus length and no padding is added or checked.

>>> key = generate_rsa_key(1024)
>>> signature = sign(key, b"message")
>>> verify(key.public_key, b"message", signature)
True
>>> block = bytes([0x6A]) + bytes(126) + bytes([0xBC])
>>> rsa_public_raw(key.public_key, rsa_private_raw(key, block)) == block
True
>>> repr(key).startswith("RsaPrivateKey(<masked>")
True
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as _padding
from cryptography.hazmat.primitives.asymmetric import rsa as _rsa

from zhifu.core.errors import DecodeError, UsageError
from zhifu.crypto.errors import CryptoError, InvalidKeyError
from zhifu.crypto.hashes import Hash

__all__ = [
    "RsaPrivateKey",
    "RsaPublicKey",
    "decrypt",
    "encrypt",
    "generate_rsa_key",
    "private_key_from_der",
    "private_key_from_pem",
    "private_key_from_primes",
    "private_key_to_der",
    "private_key_to_pem",
    "public_key_from_der",
    "public_key_from_modulus",
    "public_key_from_pem",
    "public_key_to_der",
    "public_key_to_pem",
    "rsa_private_raw",
    "rsa_public_raw",
    "sign",
    "verify",
]

SignPadding = Literal["pkcs1v15", "pss"]
CipherPadding = Literal["oaep", "pkcs1v15"]
_HASHES: dict[Hash, type[hashes.HashAlgorithm]] = {
    Hash.SHA1: hashes.SHA1,
    Hash.SHA256: hashes.SHA256,
}


@dataclass(frozen=True, eq=False, repr=False)
class RsaPublicKey:
    """An RSA public key (a ``cryptography`` key inside)."""

    key: _rsa.RSAPublicKey

    @property
    def modulus(self) -> int:
        """n."""
        return self.key.public_numbers().n

    @property
    def exponent(self) -> int:
        """e (3 or 65537 in EMV)."""
        return self.key.public_numbers().e

    @property
    def size(self) -> int:
        """Modulus length in bytes (the raw RSA block length)."""
        return (self.key.key_size + 7) // 8

    def modulus_bytes(self) -> bytes:
        """n as ``size`` big-endian bytes (EMV tags 9F46/90 carry this)."""
        return self.modulus.to_bytes(self.size, "big")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RsaPublicKey)
            and self.key.public_numbers() == other.key.public_numbers()
        )

    def __hash__(self) -> int:
        return hash((self.modulus, self.exponent))

    def __repr__(self) -> str:
        n_head = self.modulus_bytes()[:4].hex().upper()
        return f"RsaPublicKey(bits={self.key.key_size}, e={self.exponent}, n={n_head}…)"

    def __reduce__(self) -> tuple[object, ...]:
        return (public_key_from_der, (public_key_to_der(self),))


@dataclass(frozen=True, eq=False, repr=False)
class RsaPrivateKey:
    """An RSA private key; its repr shows only the size."""

    key: _rsa.RSAPrivateKey

    @property
    def public_key(self) -> RsaPublicKey:
        """The matching public key."""
        return RsaPublicKey(self.key.public_key())

    @property
    def size(self) -> int:
        """Modulus length in bytes."""
        return (self.key.key_size + 7) // 8

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RsaPrivateKey) and self.public_key == other.public_key

    def __hash__(self) -> int:
        return hash(self.public_key)

    def __repr__(self) -> str:
        return f"RsaPrivateKey(<masked>, bits={self.key.key_size})"

    def __reduce__(self) -> tuple[object, ...]:
        return (private_key_from_der, (private_key_to_der(self),))


def generate_rsa_key(bits: int = 2048, e: int = 65537) -> RsaPrivateKey:
    """A fresh key from OpenSSL's CSPRNG; ``bits`` 1024-4096 in steps of 8, ``e`` 3 or 65537."""
    if not (1024 <= bits <= 4096 and bits % 8 == 0):
        raise UsageError(f"bits must be 1024..4096 in steps of 8, not {bits}", argument="bits")
    if e not in (3, 65537):
        raise UsageError(f"e must be 3 or 65537, not {e}", argument="e")
    return RsaPrivateKey(_rsa.generate_private_key(public_exponent=e, key_size=bits))


def public_key_from_modulus(modulus: bytes, exponent: bytes | int) -> RsaPublicKey:
    """A public key from the modulus and exponent bytes as EMV transmits them (big-endian)."""
    n = int.from_bytes(modulus, "big")
    e = exponent if isinstance(exponent, int) else int.from_bytes(exponent, "big")
    if n < 3 or n % 2 == 0 or not modulus or modulus[0] == 0:
        reason = "the modulus must be odd with a non-zero first byte"
        raise InvalidKeyError(reason, argument="modulus")
    if e < 3 or e % 2 == 0 or e >= n:
        raise InvalidKeyError("the exponent must be odd, >= 3 and below n", argument="exponent")
    return RsaPublicKey(_rsa.RSAPublicNumbers(e, n).public_key())


def private_key_from_primes(p: int, q: int, e: int = 65537) -> RsaPrivateKey:
    """A private key from its primes (EMV personalisation gives p, q and the CRT values)."""
    try:
        d = pow(e, -1, (p - 1) * (q - 1))
        crt = (_rsa.rsa_crt_dmp1(d, p), _rsa.rsa_crt_dmq1(d, q), _rsa.rsa_crt_iqmp(p, q))
        numbers = _rsa.RSAPrivateNumbers(p, q, d, *crt, _rsa.RSAPublicNumbers(e, p * q))
        return RsaPrivateKey(numbers.private_key())
    except ValueError:
        raise InvalidKeyError("p, q and e do not form an RSA key", argument="p") from None


def _hash(hash_alg: Hash | str) -> hashes.HashAlgorithm:
    alg = hash_alg if isinstance(hash_alg, Hash) else Hash.parse(hash_alg)
    if alg not in _HASHES:
        raise UsageError(f"RSA here uses sha1 or sha256, not {alg.value}", argument="hash_alg")
    return _HASHES[alg]()


def _sign_padding(
    padding: str, alg: hashes.HashAlgorithm, *, verify: bool
) -> _padding.AsymmetricPadding:
    if padding == "pkcs1v15":
        return _padding.PKCS1v15()
    if padding == "pss":
        salt = _padding.PSS.AUTO if verify else _padding.PSS.DIGEST_LENGTH
        return _padding.PSS(mgf=_padding.MGF1(alg), salt_length=salt)
    raise UsageError(f"padding is pkcs1v15 or pss, not {padding!r}", argument="padding")


def sign(
    private_key: RsaPrivateKey,
    message: bytes,
    hash_alg: Hash | str = Hash.SHA256,
    padding: SignPadding = "pkcs1v15",
) -> bytes:
    """Sign ``message`` (hashed here); PSS uses MGF1 with the same hash and a digest-long salt."""
    alg = _hash(hash_alg)
    return private_key.key.sign(bytes(message), _sign_padding(padding, alg, verify=False), alg)


def verify(
    public_key: RsaPublicKey,
    message: bytes,
    signature: bytes,
    hash_alg: Hash | str = Hash.SHA256,
    padding: SignPadding = "pkcs1v15",
) -> bool:
    """True when ``signature`` is valid; PSS accepts any salt length."""
    alg = _hash(hash_alg)
    try:
        public_key.key.verify(
            bytes(signature), bytes(message), _sign_padding(padding, alg, verify=True), alg
        )
    except InvalidSignature:
        return False
    return True


def _cipher_padding(padding: str, hash_alg: Hash | str) -> _padding.AsymmetricPadding:
    if padding == "oaep":
        alg = _hash(hash_alg)
        return _padding.OAEP(mgf=_padding.MGF1(alg), algorithm=alg, label=None)
    if padding == "pkcs1v15":
        return _padding.PKCS1v15()
    raise UsageError(f"padding is oaep or pkcs1v15, not {padding!r}", argument="padding")


def encrypt(
    public_key: RsaPublicKey,
    plaintext: bytes,
    padding: CipherPadding = "oaep",
    hash_alg: Hash | str = Hash.SHA256,
) -> bytes:
    """OAEP (MGF1, same hash, no label) or PKCS #1 v1.5 encryption."""
    try:
        return public_key.key.encrypt(bytes(plaintext), _cipher_padding(padding, hash_alg))
    except ValueError:
        raise UsageError(
            f"{len(plaintext)} bytes is too long for this key and padding", argument="plaintext"
        ) from None


def decrypt(
    private_key: RsaPrivateKey,
    ciphertext: bytes,
    padding: CipherPadding = "oaep",
    hash_alg: Hash | str = Hash.SHA256,
) -> bytes:
    """Decrypt; OAEP failures raise :class:`CryptoError`.

    PKCS #1 v1.5 cannot report tampering safely: OpenSSL answers a bad padding with a
    pseudo-random plaintext (implicit rejection, the Marvin attack fix), so prefer OAEP.
    """
    try:
        return private_key.key.decrypt(bytes(ciphertext), _cipher_padding(padding, hash_alg))
    except ValueError:
        raise CryptoError("RSA decryption failed") from None


def _block(size: int, n: int, block: bytes) -> int:
    if len(block) != size:
        reason = f"the block must be {size} bytes (the modulus length), not {len(block)}"
        raise UsageError(reason, argument="block")
    value = int.from_bytes(block, "big")
    if value >= n:
        raise UsageError("the block is not below the modulus", argument="block")
    return value


def rsa_public_raw(public_key: RsaPublicKey, block: bytes) -> bytes:
    """block^e mod n (EMV certificate / signed data recovery); no padding."""
    n = public_key.modulus
    value = _block(public_key.size, n, block)
    return pow(value, public_key.exponent, n).to_bytes(public_key.size, "big")


def rsa_private_raw(private_key: RsaPrivateKey, block: bytes) -> bytes:
    """block^d mod n with CRT and blinding (card-side signing of EMV dynamic data); no padding."""
    numbers = private_key.key.private_numbers()
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    value = _block(private_key.size, n, block)
    blind = secrets.randbelow(n - 2) + 2
    blinded = value * pow(blind, e, n) % n
    m1 = pow(blinded, numbers.dmp1, numbers.p)
    m2 = pow(blinded, numbers.dmq1, numbers.q)
    result = (m2 + numbers.q * (numbers.iqmp * (m1 - m2) % numbers.p)) * pow(blind, -1, n) % n
    if pow(result, e, n) != value:  # fault check before anything leaves the function
        raise CryptoError("RSA private operation failed its consistency check")
    return result.to_bytes(private_key.size, "big")


def public_key_to_der(public_key: RsaPublicKey) -> bytes:
    """SubjectPublicKeyInfo DER."""
    return public_key.key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_to_pem(public_key: RsaPublicKey) -> str:
    """``-----BEGIN PUBLIC KEY-----``."""
    pem = public_key.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def _private_bytes(private_key: RsaPrivateKey, encoding: serialization.Encoding) -> bytes:
    return private_key.key.private_bytes(
        encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_key_to_der(private_key: RsaPrivateKey) -> bytes:
    """PKCS #8 DER, unencrypted."""
    return _private_bytes(private_key, serialization.Encoding.DER)


def private_key_to_pem(private_key: RsaPrivateKey) -> str:
    """``-----BEGIN PRIVATE KEY-----`` (PKCS #8), unencrypted."""
    return _private_bytes(private_key, serialization.Encoding.PEM).decode("ascii")


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("ascii", errors="replace") if isinstance(data, str) else bytes(data)


def _public(data: bytes | str, *, pem: bool) -> RsaPublicKey:
    load = serialization.load_pem_public_key if pem else serialization.load_der_public_key
    try:
        key = load(_as_bytes(data))
    except (ValueError, TypeError, IndexError):
        raise DecodeError("not a public key in this encoding", field="RSA public key") from None
    if not isinstance(key, _rsa.RSAPublicKey):
        raise DecodeError("the key is not an RSA key", field="RSA public key")
    return RsaPublicKey(key)


def _private(data: bytes | str, *, pem: bool) -> RsaPrivateKey:
    load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        key = load(_as_bytes(data), password=None)
    except (ValueError, TypeError, IndexError):
        reason = "not an unencrypted private key in this encoding"
        raise DecodeError(reason, field="RSA private key") from None
    if not isinstance(key, _rsa.RSAPrivateKey):
        raise DecodeError("the key is not an RSA key", field="RSA private key")
    return RsaPrivateKey(key)


def public_key_from_der(der: bytes) -> RsaPublicKey:
    """SubjectPublicKeyInfo DER (or PKCS #1 RSAPublicKey)."""
    return _public(der, pem=False)


def public_key_from_pem(text: str | bytes) -> RsaPublicKey:
    """``PUBLIC KEY`` or ``RSA PUBLIC KEY`` PEM."""
    return _public(text, pem=True)


def private_key_from_der(der: bytes) -> RsaPrivateKey:
    """PKCS #8 or PKCS #1 DER, unencrypted."""
    return _private(der, pem=False)


def private_key_from_pem(text: str | bytes) -> RsaPrivateKey:
    """``PRIVATE KEY`` or ``RSA PRIVATE KEY`` PEM, unencrypted."""
    return _private(text, pem=True)
