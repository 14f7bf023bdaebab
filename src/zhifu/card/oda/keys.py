"""Key pairs for offline data authentication: fresh, seeded (test cards) and serialised forms.

A seeded key is a pure function of ``(label, seed)``: the same seed always gives the same
card keys, so an issued test card can be reproduced. Seeded RSA primes come from a
Miller-Rabin search over :class:`~zhifu.core.rng.SeededRandom` output; seeded SM2 keys from
SM3 over the label and seed. Both are for test cards only; without a seed, keys come from
OpenSSL's CSPRNG (:func:`zhifu.crypto.rsa.generate_rsa_key`) or ``secrets``
(:func:`zhifu.crypto.sm2.generate_keypair`).

>>> key = generate_key("rsa", 1024, 3, seed=7, label="doc")
>>> key == generate_key("rsa", 1024, 3, seed=7, label="doc"), key.size
(True, 128)
>>> sm2_key = generate_key("sm2", 256, 0, seed=1, label="doc")
>>> private_from_hex("sm2", private_to_hex(sm2_key)) == sm2_key
True
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, TypedDict

from zhifu.codec.pan import mask_pan
from zhifu.core.errors import DecodeError, UsageError, ZhifuError
from zhifu.core.rng import SeededRandom
from zhifu.crypto.errors import InvalidKeyError
from zhifu.crypto.hashes import sm3
from zhifu.crypto.rsa import (
    RsaPrivateKey,
    RsaPublicKey,
    generate_rsa_key,
    private_key_from_der,
    private_key_from_primes,
    private_key_to_der,
)
from zhifu.crypto.sm2 import Sm2PrivateKey, Sm2PublicKey, generate_keypair

__all__ = [
    "Alg",
    "IccKey",
    "IccKeyRecord",
    "IssuerKey",
    "IssuerKeyRecord",
    "PrivateKey",
    "PublicKey",
    "check_alg",
    "generate_key",
    "private_from_hex",
    "private_to_hex",
    "random_bytes",
]

Alg = Literal["rsa", "sm2"]
PrivateKey = RsaPrivateKey | Sm2PrivateKey
PublicKey = RsaPublicKey | Sm2PublicKey
RSA_BITS = range(1024, 1985, 8)  # EMV caps CA keys at 1984 bits (NCA <= 248 bytes)
_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73)
_ROUNDS = 40


def check_alg(alg: str) -> Alg:
    """``rsa`` or ``sm2``."""
    if alg == "rsa":
        return "rsa"
    if alg == "sm2":
        return "sm2"
    raise UsageError(f"the algorithm is rsa or sm2, not {alg!r}", argument="alg")


def _seed_int(label: str, seed: int) -> int:
    return int.from_bytes(sm3(f"zhifu oda test key|{label}|{seed}".encode()), "big")


def random_bytes(n: int, seed: int | None, label: str) -> bytes:
    """``n`` bytes from the CSPRNG, or from the seeded source when ``seed`` is given."""
    if seed is None:
        return secrets.token_bytes(n)
    return SeededRandom(_seed_int(label + "|bytes", seed)).bytes(n)


def _probable_prime(n: int, rng: SeededRandom) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(_ROUNDS):
        x = pow(rng.below(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _seeded_prime(rng: SeededRandom, bits: int, e: int) -> int:
    while True:  # top two bits set: the product of two such primes has exactly 2*bits bits
        candidate = rng.below(1 << bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % e and _probable_prime(candidate, rng):
            return candidate


def _seeded_rsa(bits: int, e: int, seed: int, label: str) -> RsaPrivateKey:
    rng = SeededRandom(_seed_int(label, seed))
    p = _seeded_prime(rng, bits - bits // 2, e)
    q = _seeded_prime(rng, bits // 2, e)
    while q == p:
        q = _seeded_prime(rng, bits // 2, e)
    return private_key_from_primes(p, q, e)


def _seeded_sm2(seed: int, label: str) -> Sm2PrivateKey:
    for counter in range(64):
        d = sm3(f"zhifu oda test key|{label}|{seed}|{counter}".encode())
        try:
            return Sm2PrivateKey(d)
        except InvalidKeyError:  # d outside [1, n-2]: about 2**-32 likely
            continue
    raise AssertionError("unreachable: 64 SM3 outputs outside [1, n-2]")  # pragma: no cover


def generate_key(alg: str, bits: int, exponent: int, *, seed: int | None, label: str) -> PrivateKey:
    """An RSA (``bits`` 1024-1984, ``exponent`` 3 or 65537) or SM2 private key."""
    if check_alg(alg) == "sm2":
        return _seeded_sm2(seed, label) if seed is not None else generate_keypair()[0]
    if bits not in RSA_BITS:
        raise UsageError(
            f"EMV RSA keys are 1024 to 1984 bits in steps of 8, not {bits}", argument="bits"
        )
    if exponent not in (3, 65537):
        raise UsageError(f"the exponent is 3 or 65537, not {exponent}", argument="exponent")
    if seed is None:
        return generate_rsa_key(bits, exponent)
    return _seeded_rsa(bits, exponent, seed, label)


def private_to_hex(key: PrivateKey) -> str:
    """RSA: PKCS #8 DER in hex; SM2: d in hex (for card files: these are test cards)."""
    if isinstance(key, Sm2PrivateKey):
        return key.to_bytes().hex().upper()
    return private_key_to_der(key).hex().upper()


def private_from_hex(alg: str, text: str) -> PrivateKey:
    """The inverse of :func:`private_to_hex`."""
    data = bytes.fromhex(text)
    if check_alg(alg) == "sm2":
        return Sm2PrivateKey(data)
    return private_key_from_der(data)


# ------------------------------------------------------------------- issuer and ICC keys


class IssuerKeyRecord(TypedDict):
    """:meth:`IssuerKey.to_dict`: byte values as upper-case hex, the private key included."""

    alg: Alg
    private_key: str
    ca_rid: str
    ca_index: int
    issuer_id: str
    expiry_mmyy: str
    serial: str
    cert_90: str
    remainder_92: str
    exponent_9f32: str


class IccKeyRecord(TypedDict):
    """:meth:`IccKey.to_dict`: byte values as upper-case hex, the private key included."""

    alg: Alg
    private_key: str
    pan: str
    expiry_mmyy: str
    serial: str
    cert_9f46: str
    remainder_9f48: str
    exponent_9f47: str


@dataclass(frozen=True, eq=False, repr=False)
class IssuerKey:
    """An issuer key pair with its certificate (90), remainder (92) and exponent (9F32).

    SM2: ``cert_90`` is the format 12 certificate; remainder and exponent are empty.
    """

    alg: Alg
    private_key: PrivateKey
    ca_rid: bytes
    ca_index: int  # tag 8F
    issuer_id: str
    expiry_mmyy: str
    serial: bytes
    cert_90: bytes
    remainder_92: bytes
    exponent_9f32: bytes

    @cached_property
    def _private_hex(self) -> str:  # serialised once: card files are saved on every commit
        return private_to_hex(self.private_key)

    @property
    def public_key(self) -> PublicKey:
        """The issuer public key."""
        return self.private_key.public_key

    def to_dict(self) -> IssuerKeyRecord:
        """JSON-ready form, private key included (issuing tool's own store)."""
        return {
            "alg": self.alg,
            "private_key": self._private_hex,
            "ca_rid": _hex(self.ca_rid),
            "ca_index": self.ca_index,
            "issuer_id": self.issuer_id,
            "expiry_mmyy": self.expiry_mmyy,
            "serial": _hex(self.serial),
            "cert_90": _hex(self.cert_90),
            "remainder_92": _hex(self.remainder_92),
            "exponent_9f32": _hex(self.exponent_9f32),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> IssuerKey:
        """The inverse of :meth:`to_dict` (DecodeError naming a missing or bad field)."""
        alg = check_alg(_text(data, "alg"))
        return cls(
            alg,
            _private(alg, data),
            _bytes(data, "ca_rid"),
            _int(data, "ca_index"),
            _text(data, "issuer_id"),
            _text(data, "expiry_mmyy"),
            _bytes(data, "serial"),
            _bytes(data, "cert_90"),
            _bytes(data, "remainder_92"),
            _bytes(data, "exponent_9f32"),
        )

    def __repr__(self) -> str:
        return f"IssuerKey({self.alg}, issuer_id={self.issuer_id}, ca_index={self.ca_index:02X})"


@dataclass(frozen=True, eq=False, repr=False)
class IccKey:
    """An ICC key pair with its certificate (9F46), remainder (9F48) and exponent (9F47)."""

    alg: Alg
    private_key: PrivateKey
    pan: str
    expiry_mmyy: str
    serial: bytes
    cert_9f46: bytes
    remainder_9f48: bytes
    exponent_9f47: bytes

    @cached_property
    def _private_hex(self) -> str:  # serialised once: card files are saved on every commit
        return private_to_hex(self.private_key)

    @property
    def public_key(self) -> PublicKey:
        """The ICC public key."""
        return self.private_key.public_key

    def to_dict(self) -> IccKeyRecord:
        """JSON-ready form with the private key (the card file holds the card's own keys)."""
        return {
            "alg": self.alg,
            "private_key": self._private_hex,
            "pan": self.pan,
            "expiry_mmyy": self.expiry_mmyy,
            "serial": _hex(self.serial),
            "cert_9f46": _hex(self.cert_9f46),
            "remainder_9f48": _hex(self.remainder_9f48),
            "exponent_9f47": _hex(self.exponent_9f47),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> IccKey:
        """The inverse of :meth:`to_dict` (DecodeError naming a missing or bad field)."""
        alg = check_alg(_text(data, "alg"))
        return cls(
            alg,
            _private(alg, data),
            _text(data, "pan"),
            _text(data, "expiry_mmyy"),
            _bytes(data, "serial"),
            _bytes(data, "cert_9f46"),
            _bytes(data, "remainder_9f48"),
            _bytes(data, "exponent_9f47"),
        )

    def __repr__(self) -> str:
        return f"IccKey({self.alg}, pan={mask_pan(self.pan)})"


def _hex(data: bytes) -> str:
    return data.hex().upper()


def _text(data: Mapping[str, object], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise DecodeError("expected text", field=name)
    return value


def _int(data: Mapping[str, object], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError("expected an integer", field=name)
    return value


def _bytes(data: Mapping[str, object], name: str) -> bytes:
    try:
        return bytes.fromhex(_text(data, name))
    except ValueError as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError("not hexadecimal", field=name) from None


def _private(alg: Alg, data: Mapping[str, object]) -> PrivateKey:
    text = _text(data, "private_key")
    try:
        return private_from_hex(alg, text)
    except (ValueError, ZhifuError):
        raise DecodeError(f"not an {alg} private key", field="private_key") from None
