"""Offline data authentication for the emulated card: every call into :mod:`zhifu.card.oda.methods`.

Issuing side: issuer keys certified by the built-in TEST CA (RSA index ``80``, SM2 ``81``),
ICC keys and certificates, the signed static data 93, all from :func:`oda_material`. Card
side: DDA / fDDA signatures (:func:`sign_dda`, :func:`sign_fdda`) and the decipherment of
an enciphered offline PIN (:func:`decipher_pin`) with the ICC key, which is also the ICC PIN
encipherment key.

Enciphered PIN (VERIFY P2 ``88``): RSA as EMV Book 3 10.5.1, the terminal encrypts
``7F ‖ PIN block(8) ‖ ICC UN(8) ‖ random pad`` (the ICC modulus length) with the ICC public
key (raw RSA); SM2 (zhifu's choice, [?]): the terminal SM2-encrypts ``7F ‖ PIN block ‖ ICC
UN`` (17 bytes, C1‖C3‖C2) to the ICC SM2 public key.

>>> static_data({(3, 1): bytes.fromhex("70045F340101")}, bytes.fromhex("18010101")).hex()
'5f340101'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from zhifu.card.image.model import Application, JsonObject
from zhifu.card.oda import methods as oda
from zhifu.card.oda import rsa as oda_rsa
from zhifu.codec import tlv
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.crypto import rsa, sm2
from zhifu.crypto.rsa import RsaPrivateKey
from zhifu.crypto.sm2 import Sm2PrivateKey

__all__ = [
    "ODA_AVAILABLE",
    "OdaMaterial",
    "capk_table",
    "decipher_pin",
    "encipher_pin",
    "icc_public_key",
    "issuer_key",
    "oda_material",
    "sign_cda",
    "sign_dda",
    "sign_fdda",
    "static_data",
]

ODA_AVAILABLE = True  # the switch: False leaves ODA records out of issued cards
ISSUER_CERT_EXPIRY = "1249"


# ------------------------------------------------------------------------------ issuing


@dataclass(frozen=True)
class OdaMaterial:
    """The ODA objects of one family for a card: placeholder values and the ICC key."""

    values: dict[str, bytes]
    icc_key: oda.IccKey


def static_data(records: dict[tuple[int, int], bytes], afl: bytes) -> bytes:
    """Static data to be authenticated: the records the AFL flags for ODA (EMV Book 3 10.3).

    SFI 1-10 records count without their tag 70 and length.
    """
    out = b""
    for i in range(0, len(afl) - 3, 4):
        sfi, first, last, oda_count = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
        for number in range(first, first + oda_count):
            if number > last:
                break
            record = records.get((sfi, number))
            if record is None:
                raise UsageError(f"the AFL flags a missing record {sfi}.{number}", argument="afl")
            out += tlv.decode(record)[0].value
    return out


@lru_cache(maxsize=64)
def issuer_key(alg: str, issuer_id: str, seed: int) -> oda.IssuerKey:
    """The test issuer's ODA key for ``issuer_id`` (3-8 PAN digits), certified by the test CA.

    Seeded, so one issuer seed always gives the same keys and certificates.
    """
    ca = oda.builtin_test_ca(alg)
    return oda.issue_issuer_certificate(
        ca, issuer_id, ISSUER_CERT_EXPIRY, alg, seed=seed, serial=seed & 0xFFFFFF
    )


def _certify_existing(
    issuer: oda.IssuerKey, key: RsaPrivateKey, pan: str, expiry_mmyy: str, data: bytes
) -> oda.IccKey:
    serial = SystemRandomSource().bytes(3)
    cert, remainder, exponent = oda_rsa.sign_icc_certificate(
        issuer.private_key,  # type: ignore[arg-type]
        key.public_key,
        pan,
        expiry_mmyy,
        serial,
        static_data=data,
    )
    return oda.IccKey("rsa", key, pan, expiry_mmyy, serial, cert, remainder, exponent)


def oda_material(
    alg: str,
    issuer: oda.IssuerKey,
    *,
    pan: str,
    expiry_mmyy: str,
    data: bytes,
    aip: bytes,
    icc_rsa_key: RsaPrivateKey | None = None,
) -> OdaMaterial:
    """Certificates, SSAD and the ICC key of one family (``rsa`` or ``sm2``) for one card.

    ``icc_rsa_key`` certifies a given ICC key (the reference card's) instead of a new one.
    """
    if icc_rsa_key is not None and alg == "rsa":
        icc = _certify_existing(issuer, icc_rsa_key, pan, expiry_mmyy, data + aip)
    else:
        icc = oda.issue_icc_certificate(issuer, pan, expiry_mmyy, data, alg, aip=aip)
    values = {
        "ca_index": bytes([issuer.ca_index]),
        "issuer_cert": issuer.cert_90,
        "issuer_remainder": issuer.remainder_92,
        "issuer_exponent": issuer.exponent_9f32,
        "icc_cert": icc.cert_9f46,
        "icc_remainder": icc.remainder_9f48,
        "icc_exponent": icc.exponent_9f47,
        "ssad": oda.sign_static_data(issuer, data, aip=aip),
    }
    return OdaMaterial(values, icc)


def capk_table() -> list[JsonObject]:
    """The CAPK records a terminal needs for cards issued here (test CA RSA 80, SM2 81), as
    the JSON objects a terminal's parameter file or the acquirer's download table holds."""
    return [dict(oda.builtin_test_ca(alg).capk_record()) for alg in ("rsa", "sm2")]


# ------------------------------------------------------------------------------ card side


def _icc(app: Application, sm: bool) -> oda.IccKey | None:
    return app.icc_key.get("sm2" if sm else "rsa")


def sign_dda(app: Application, sm: bool, dynamic_number: bytes, ddol_data: bytes) -> bytes | None:
    """Signed dynamic application data (9F4B) for INTERNAL AUTHENTICATE; None without a key."""
    icc = _icc(app, sm)
    if icc is None:
        return None
    return oda.sign_dynamic_data(icc, oda.icc_dynamic_data(dynamic_number), ddol_data)


def sign_cda(app: Application, sm: bool, icc_dynamic_data: bytes, un: bytes) -> bytes | None:
    """Signed dynamic application data (9F4B) of a CDA answer over the terminal's 9F37;
    None without an ICC key."""
    icc = _icc(app, sm)
    if icc is None:
        return None
    return oda.sign_dynamic_data(icc, icc_dynamic_data, un)


def sign_fdda(
    app: Application,
    sm: bool,
    *,
    terminal_un: bytes,
    amount: bytes,
    currency: bytes,
    tag_9f69: bytes,
) -> bytes | None:
    """qPBOC fDDA 9F4B (version 01, with 9F69); None without a key."""
    icc = _icc(app, sm)
    if icc is None:
        return None
    return oda.sign_fdda(icc, terminal_un, amount, currency, tag_9f69)


def decipher_pin(app: Application, sm: bool, data: bytes) -> bytes:
    """Decipher VERIFY P2=88 data; returns ``7F ‖ PIN block ‖ UN``.

    LookupError: no ICC key of that family; ValueError: not a valid cryptogram (any
    length or format problem, never the data).
    """
    icc = _icc(app, sm)
    if icc is None:
        raise LookupError("no ICC PIN encipherment key")
    key = icc.private_key
    try:
        if isinstance(key, Sm2PrivateKey):
            return sm2.decrypt(key, data)
        if len(data) != key.size:
            raise ValueError("length")
        return rsa.rsa_private_raw(key, data)
    except ZhifuError:
        raise ValueError("not a valid enciphered PIN") from None


def encipher_pin(
    public_key: rsa.RsaPublicKey | sm2.Sm2PublicKey,
    pin_block: bytes,
    challenge: bytes,
    random: RandomSource | None = None,
) -> bytes:
    """The terminal side of enciphered offline PIN (for tests and the terminal kernel)."""
    plain = b"\x7f" + pin_block + challenge
    if isinstance(public_key, sm2.Sm2PublicKey):
        return sm2.encrypt(public_key, plain)
    pad = (random or SystemRandomSource()).bytes(public_key.size - len(plain))
    return rsa.rsa_public_raw(public_key, plain + pad)


def icc_public_key(app: Application, sm: bool) -> rsa.RsaPublicKey | sm2.Sm2PublicKey | None:
    """The ICC public key of one family (what a terminal recovers from 9F46)."""
    icc = _icc(app, sm)
    return None if icc is None else icc.public_key
