"""The issuer's master keys: the key file of an issuer of emulated cards, and the card keys.

The issuer keeps its own key file (``"format": "zhifu-issuer-keys/1"``), separate from the
cards: the issuer master keys IMK-AC, IMK-SMI and IMK-SMC of each algorithm family (3DES and
SM4) and the seed of its test ODA keys (issuer RSA/SM2 keys certified by the built-in TEST CA,
RSA index 80 / SM2 index 81, one issuer key per 6-digit BIN). :meth:`IssuerKeys.test` is the
built-in test issuer (the values below, TEST ONLY)::

    3DES  IMK-AC  0123456789ABCDEFFEDCBA9876543210   IMK-SMI  FEDCBA98765432100123456789ABCDEF
          IMK-SMC 89ABCDEF01234567FEDCBA9876543210
    SM4   IMK-AC  00112233445566778899AABBCCDDEEFF   IMK-SMI  FFEEDDCCBBAA99887766554433221100
          IMK-SMC 0F1E2D3C4B5A69788796A5B4C3D2E1F0
    ODA seed 20130101

A card's MK-AC/MK-SMI/MK-SMC = :func:`zhifu.crypto.emv.derive_icc_mk_a` (option A over PAN
and PAN sequence number) of the matching IMK.

>>> IssuerKeys.test()
IssuerKeys(families=['sm4', 'tdes'], <masked>)
>>> IssuerKeys.test().card_keys("tdes", "6228000000000011", "01")
KeySet(<masked>)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from zhifu.card.image.model import KeySet, write_atomic
from zhifu.core.errors import DecodeError, UsageError
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher

__all__ = ["ISSUER_FORMAT", "TEST_ODA_SEED", "IssuerKeys", "IssuerKeysRecord"]


class IssuerKeysRecord(TypedDict):
    """The issuer key file: master keys per family as upper-case hex, the ODA seed."""

    format: str
    imk: dict[str, dict[str, str]]
    oda_seed: int


ISSUER_FORMAT = "zhifu-issuer-keys/1"
_CIPHERS = {"tdes": Cipher.TDES, "sm4": Cipher.SM4}
_TEST_IMK = {
    "tdes": (
        "0123456789ABCDEFFEDCBA9876543210",
        "FEDCBA98765432100123456789ABCDEF",
        "89ABCDEF01234567FEDCBA9876543210",
    ),
    "sm4": (
        "00112233445566778899AABBCCDDEEFF",
        "FFEEDDCCBBAA99887766554433221100",
        "0F1E2D3C4B5A69788796A5B4C3D2E1F0",
    ),
}
TEST_ODA_SEED = 20130101


@dataclass(frozen=True, repr=False)
class IssuerKeys:
    """An issuer's master keys per family and the seed of its test ODA keys."""

    imk: dict[str, KeySet]
    oda_seed: int

    def __repr__(self) -> str:
        return f"IssuerKeys(families={sorted(self.imk)}, <masked>)"

    @classmethod
    def test(cls) -> IssuerKeys:
        """The built-in TEST issuer (module docstring)."""
        imk = {f: KeySet(*(bytes.fromhex(k) for k in keys)) for f, keys in _TEST_IMK.items()}
        return cls(imk, TEST_ODA_SEED)

    @classmethod
    def generate(cls, random: RandomSource | None = None) -> IssuerKeys:
        """A new issuer with random master keys (still a test issuer: keys live in a file)."""
        source = random or SystemRandomSource()
        imk = {f: KeySet(source.bytes(16), source.bytes(16), source.bytes(16)) for f in _CIPHERS}
        return cls(imk, int.from_bytes(source.bytes(4), "big"))

    def to_json(self) -> IssuerKeysRecord:
        """The issuer key file object."""
        return {
            "format": ISSUER_FORMAT,
            "imk": {f: keys.to_json() for f, keys in self.imk.items()},
            "oda_seed": self.oda_seed,
        }

    @classmethod
    def from_json(cls, data: object) -> IssuerKeys:
        """Load an issuer key file object (DecodeError naming the bad field)."""
        if not isinstance(data, dict) or data.get("format") != ISSUER_FORMAT:
            raise DecodeError(f"not a {ISSUER_FORMAT} file", field="format")
        imk_json = data.get("imk")
        if not isinstance(imk_json, dict):
            raise DecodeError("expected an object", field="imk")
        imk = {f: KeySet.from_json(v, f"imk.{f}") for f, v in imk_json.items() if f in _CIPHERS}
        seed = data.get("oda_seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise DecodeError("expected a non-negative integer", field="oda_seed")
        return cls(imk, seed)

    def save(self, path: Path | str) -> None:
        """Write the issuer key file atomically (mode 0600)."""
        write_atomic(Path(path), (json.dumps(self.to_json(), indent=1) + "\n").encode())

    @classmethod
    def load(cls, path: Path | str) -> IssuerKeys:
        """Read an issuer key file (UsageError if unreadable, DecodeError if it is not one)."""
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read ({exc.strerror})", argument="issuer") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DecodeError("not UTF-8 text", field="issuer", offset=exc.start) from None
        except ValueError:
            raise DecodeError("not JSON", field="issuer") from None
        return cls.from_json(data)

    def card_keys(self, family: str, pan: str, psn: str) -> KeySet:
        """MK-AC, MK-SMI and MK-SMC of one card (option A of the family's IMKs)."""
        imk, cipher = self.imk[family], _CIPHERS[family]
        return KeySet(
            *(emv.derive_icc_mk_a(cipher, k, pan, psn) for k in (imk.mk_ac, imk.mk_smi, imk.mk_smc))
        )
