"""Certification authority keys for offline data authentication and the terminal's CAPK table.

A :class:`CaKey` is the issuing side's test CA (with its private key) or, on the terminal,
a CAPK table entry (public only). :meth:`CaKey.capk_record` gives the JSON-ready entry:
RID, index, hash and public key algorithm indicators, modulus, exponent and check value.

RSA check value: SHA-1 over RID ‖ index ‖ modulus ‖ exponent (EMV Book 2 11.2). SM2 [?]
(zhifu's convention, no public text found): the "modulus" is the point x‖y (64 bytes), the
exponent is empty, the hash algorithm indicator is ``07`` (SM3), the public key algorithm
indicator ``04`` (SM2) and the check value is SM3 over RID ‖ index ‖ x‖y.

>>> ca = builtin_test_ca("rsa")
>>> record = ca.capk_record()
>>> record["rid"], record["index"], record["exponent"], len(record["checksum"])
('A000000333', 128, '03', 40)
>>> CaKey.from_capk_record(record).public_key == ca.public_key
True
>>> find_capk([record, builtin_test_ca("sm2").capk_record()], bytes.fromhex("A00000033301"), 0x81)
CaKey(sm2, rid=A000000333, index=81)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import NotRequired, TypedDict, cast

from zhifu.card.oda.base import HASH_SHA1, HASH_SM3, PK_RSA, PK_SM2, OdaError
from zhifu.card.oda.data import (
    TEST_CA_RSA_E,
    TEST_CA_RSA_INDEX,
    TEST_CA_RSA_P,
    TEST_CA_RSA_Q,
    TEST_CA_SM2_D,
    TEST_CA_SM2_INDEX,
)
from zhifu.card.oda.keys import (
    Alg,
    PrivateKey,
    PublicKey,
    check_alg,
    generate_key,
    private_from_hex,
    private_to_hex,
)
from zhifu.card.oda.rsa import exponent_bytes
from zhifu.core.errors import UsageError
from zhifu.crypto.hashes import Hash, digest
from zhifu.crypto.rsa import RsaPrivateKey, RsaPublicKey, private_key_from_primes
from zhifu.crypto.rsa import public_key_from_modulus as _rsa_public
from zhifu.crypto.sm2 import Sm2PrivateKey, Sm2PublicKey

__all__ = [
    "UNIONPAY_RID",
    "CaKey",
    "CaKeyRecord",
    "CapkRecord",
    "builtin_test_ca",
    "create_test_ca",
    "find_capk",
]

UNIONPAY_RID = bytes.fromhex("A000000333")
_CAPK_KEYS = ("alg", "rid", "index", "hash_algorithm", "pk_algorithm", "modulus", "exponent")


class CapkRecord(TypedDict):
    """A CAPK table entry (:meth:`CaKey.capk_record`): bytes as upper-case hex."""

    alg: Alg
    rid: str
    index: int
    hash_algorithm: int
    pk_algorithm: int
    modulus: str
    exponent: str
    checksum: str


class CaKeyRecord(CapkRecord):
    """:meth:`CaKey.to_dict`: the CAPK entry and, for a test CA, its private key."""

    private_key: NotRequired[str]


def _check_pair(alg: Alg, key: PrivateKey | PublicKey, argument: str) -> None:
    rsa = isinstance(key, RsaPrivateKey | RsaPublicKey)
    if rsa != (alg == "rsa"):
        raise UsageError(f"the key is not an {alg} key", argument=argument)


@dataclass(frozen=True, eq=False, repr=False)
class CaKey:
    """A certification authority key: ``private_key`` is None on the terminal side.

    For SM2, :attr:`modulus` is the point x‖y and :attr:`exponent` is empty (zhifu's CAPK
    convention); the check value is SM3(RID ‖ index ‖ x‖y) [?] instead of EMV's SHA-1.
    """

    alg: Alg
    rid: bytes
    index: int
    public_key: PublicKey
    private_key: PrivateKey | None = None

    def __post_init__(self) -> None:
        check_alg(self.alg)
        if len(self.rid) != 5:
            raise UsageError(f"a RID is 5 bytes, not {len(self.rid)}", argument="rid")
        if not 0 <= self.index <= 0xFF:
            raise UsageError("the CA public key index is one byte", argument="index")
        _check_pair(self.alg, self.public_key, "public_key")
        if self.private_key is not None and self.private_key.public_key != self.public_key:
            raise UsageError(
                "the private key does not match the public key", argument="private_key"
            )

    @property
    def modulus(self) -> bytes:
        """RSA modulus, or the SM2 point x‖y (64 bytes)."""
        if isinstance(self.public_key, Sm2PublicKey):
            return self.public_key.point[1:]
        return self.public_key.modulus_bytes()

    @property
    def exponent(self) -> bytes:
        """RSA exponent (``03`` or ``010001``); empty for SM2."""
        if isinstance(self.public_key, Sm2PublicKey):
            return b""
        return exponent_bytes(self.public_key)

    @property
    def hash_algorithm(self) -> int:
        """Hash algorithm indicator: ``01`` SHA-1, ``07`` SM3 [?]."""
        return HASH_SHA1 if self.alg == "rsa" else HASH_SM3

    @property
    def pk_algorithm(self) -> int:
        """Public key algorithm indicator: ``01`` RSA, ``04`` SM2."""
        return PK_RSA if self.alg == "rsa" else PK_SM2

    @property
    def checksum(self) -> bytes:
        """CA public key check value (EMV Book 2 11.2: SHA-1 over RID ‖ index ‖ n ‖ e)."""
        data = self.rid + bytes([self.index]) + self.modulus + self.exponent
        return digest(Hash.SHA1 if self.alg == "rsa" else Hash.SM3, data)

    def capk_record(self) -> CapkRecord:
        """A JSON-ready CAPK table entry (hex strings, indicators and index as integers)."""
        return {
            "alg": self.alg,
            "rid": self.rid.hex().upper(),
            "index": self.index,
            "hash_algorithm": self.hash_algorithm,
            "pk_algorithm": self.pk_algorithm,
            "modulus": self.modulus.hex().upper(),
            "exponent": self.exponent.hex().upper(),
            "checksum": self.checksum.hex().upper(),
        }

    @classmethod
    def from_capk_record(cls, record: Mapping[str, object]) -> CaKey:
        """A public-only key from :meth:`capk_record` output; the check value must match."""
        missing = [key for key in (*_CAPK_KEYS, "checksum") if key not in record]
        if missing:
            raise UsageError(f"the CAPK record lacks {', '.join(missing)}", argument="record")
        alg = check_alg(str(record["alg"]))
        modulus, exponent = _hex_field(record, "modulus"), _hex_field(record, "exponent")
        public: PublicKey = (
            _rsa_public(modulus, exponent)
            if alg == "rsa"
            else Sm2PublicKey.from_bytes(b"\x04" + modulus)
        )
        index = record["index"]
        if isinstance(index, bool) or not isinstance(index, int):
            raise UsageError("the index is an integer", argument="record")
        key = cls(alg, _hex_field(record, "rid"), index, public)
        if key.checksum.hex().upper() != str(record["checksum"]).upper():
            raise OdaError("capk_checksum", f"CA public key {key.index:02X}")
        return key

    def public_only(self) -> CaKey:
        """The same key without its private part."""
        return CaKey(self.alg, self.rid, self.index, self.public_key)

    def to_dict(self) -> CaKeyRecord:
        """:meth:`capk_record` plus the private key (test CAs only)."""
        record = cast(CaKeyRecord, dict(self.capk_record()))  # the same keys, one optional more
        if self.private_key is not None:
            record["private_key"] = private_to_hex(self.private_key)
        return record

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CaKey:
        """The inverse of :meth:`to_dict`."""
        public = cls.from_capk_record(data)
        text = data.get("private_key")
        if text is None:
            return public
        if not isinstance(text, str):
            raise UsageError("the private key is hex text", argument="private_key")
        private = private_from_hex(public.alg, text)
        return cls(public.alg, public.rid, public.index, public.public_key, private)

    def __eq__(self, other: object) -> bool:  # the private part does not take part
        return isinstance(other, CaKey) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def _identity(self) -> tuple[str, bytes, int, PublicKey]:
        return (self.alg, self.rid, self.index, self.public_key)

    def __repr__(self) -> str:
        private = ", private=<masked>" if self.private_key is not None else ""
        return f"CaKey({self.alg}, rid={self.rid.hex().upper()}, index={self.index:02X}{private})"


def create_test_ca(alg: str, index: int, *, bits: int = 1024, seed: int | None = None) -> CaKey:
    """A fresh (or, with ``seed``, reproducible) TEST CA key; RSA uses e = 3."""
    key = generate_key(alg, bits, 3, seed=seed, label=f"ca|{alg}|{index}|{bits}")
    return CaKey(check_alg(alg), UNIONPAY_RID, index, key.public_key, key)


@cache
def builtin_test_ca(alg: str) -> CaKey:
    """The shipped TEST-ONLY CA key (:mod:`zhifu.card.oda.data`): RSA-1024 index 80, SM2 81."""
    if check_alg(alg) == "rsa":
        key: PrivateKey = private_key_from_primes(TEST_CA_RSA_P, TEST_CA_RSA_Q, TEST_CA_RSA_E)
        return CaKey("rsa", UNIONPAY_RID, TEST_CA_RSA_INDEX, key.public_key, key)
    sm2_key = Sm2PrivateKey.from_hex(TEST_CA_SM2_D)
    return CaKey("sm2", UNIONPAY_RID, TEST_CA_SM2_INDEX, sm2_key.public_key, sm2_key)


def _hex_field(record: Mapping[str, object], name: str) -> bytes:
    value = record[name]
    if not isinstance(value, str):
        raise UsageError(f"{name} is hex text", argument="record")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise UsageError(f"{name} is not hexadecimal", argument="record") from None


def find_capk(table: Iterable[CaKey | Mapping[str, object]], rid: bytes, index_8f: int) -> CaKey:
    """The terminal's CAPK lookup by RID (first 5 bytes of the AID) and 8F."""
    for entry in table:
        key = entry if isinstance(entry, CaKey) else CaKey.from_capk_record(entry)
        if key.rid == bytes(rid[:5]) and key.index == index_8f:
            return key
    raise OdaError("ca_index", f"CA public key {index_8f:02X}", "not in the CAPK table")
