"""Tests of zhifu.card.oda.methods: CA → issuer → ICC certificates, SDA/DDA/fDDA, RSA and SM2.

Layouts: EMV 4.3 Book 2 sections 5.3, 5.4, 6.4, 6.5 and annex B2 (docs/standards/card-terminal.md
§2.6) for
RSA; JR/T 0025.17 as parsed by public PBOC kernels (docs/standards/card-terminal.md §1.7) for SM2.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.card.oda import rsa as oda_rsa
from zhifu.card.oda import sm2 as oda_sm2
from zhifu.card.oda.methods import (
    CaKey,
    IccKey,
    IssuerKey,
    OdaError,
    builtin_test_ca,
    create_test_ca,
    fdda_terminal_data,
    find_capk,
    icc_dynamic_data,
    issue_icc_certificate,
    issue_issuer_certificate,
    recover_icc_public_key,
    recover_issuer_public_key,
    sign_dynamic_data,
    sign_fdda,
    sign_static_data,
    verify_dda,
    verify_fdda,
    verify_sda,
)
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.crypto import sm2
from zhifu.crypto.errors import CryptoError
from zhifu.crypto.hashes import sm3
from zhifu.crypto.rsa import RsaPrivateKey, RsaPublicKey, rsa_private_raw, rsa_public_raw

PAN = "6228000100001117"  # the reference card of docs/standards/card-terminal.md §1.9
OTHER_PAN = "6228000100001125"
STATIC = bytes.fromhex("5A0862280001000011175F24033012315F25039507019F08020030")
AIP = bytes.fromhex("7C00")
TODAY = date(2026, 11, 25)
DDOL_DATA = bytes.fromhex("1A2B3C4D")  # 9F37 for the default DDOL 9F3704
FDDA = {
    "terminal_un": bytes.fromhex("01020304"),
    "amount": bytes.fromhex("000000001000"),
    "currency": bytes.fromhex("0156"),
    "card_auth_data_9f69": bytes.fromhex("01A1B2C3D43000"),
}
INTEGRITY = {"length", "recovery", "trailer", "header", "format", "hash", "hash_algorithm"}
SM2_INTEGRITY = {"length", "format", "pk_algorithm", "signature", "dynamic_data"}


class Chain:
    """A CA, an issuer and an ICC of one algorithm, with everything the card sends."""

    def __init__(self, ca: CaKey, issuer: IssuerKey, icc: IccKey) -> None:
        self.ca, self.issuer, self.icc = ca, issuer, icc
        self.ssad = sign_static_data(issuer, STATIC, aip=AIP)
        self.sdad = sign_dynamic_data(
            icc, icc_dynamic_data(bytes.fromhex("0102030405060708")), DDOL_DATA
        )
        self.fdda = sign_fdda(icc, **FDDA)

    def issuer_pk(self, **kw: Any) -> Any:
        args: dict[str, Any] = {
            "cert_90": self.issuer.cert_90,
            "remainder_92": self.issuer.remainder_92,
            "exponent_9f32": self.issuer.exponent_9f32,
            "pan": PAN,
        }
        args.update(kw)
        args.setdefault("today", TODAY)
        ca = args.pop("ca", self.ca.capk_record())
        return recover_issuer_public_key(ca, **args)

    def icc_pk(self, **kw: Any) -> Any:
        args: dict[str, Any] = {
            "cert_9f46": self.icc.cert_9f46,
            "remainder_9f48": self.icc.remainder_9f48,
            "exponent_9f47": self.icc.exponent_9f47,
            "static_data": STATIC,
            "aip": AIP,
            "pan": PAN,
        }
        args.update(kw)
        args.setdefault("today", TODAY)
        issuer_pk = args.pop("issuer_pk", self.issuer.public_key)
        return recover_icc_public_key(issuer_pk, **args)


@pytest.fixture(scope="module")
def rsa_chain() -> Chain:
    ca = builtin_test_ca("rsa")  # NCA 128: the 1024-bit issuer needs a 36-byte remainder
    issuer = issue_issuer_certificate(ca, "622800", "1230", "rsa", serial=1, seed=11)
    icc = issue_icc_certificate(issuer, PAN, "1230", STATIC, "rsa", aip=AIP, seed=12)
    return Chain(ca, issuer, icc)


@pytest.fixture(scope="module")
def sm2_chain() -> Chain:
    ca = builtin_test_ca("sm2")
    issuer = issue_issuer_certificate(ca, "622800", "1230", "sm2", serial=1, seed=11)
    icc = issue_icc_certificate(issuer, PAN, "1230", STATIC, "sm2", aip=AIP, seed=12)
    return Chain(ca, issuer, icc)


@pytest.fixture(scope="module")
def fitting_chain() -> Chain:
    """NCA 248 (1984 bits), NI 176 <= NCA - 36, NIC 128 <= NI - 42: no remainders."""
    ca = create_test_ca("rsa", 0x92, bits=1984)
    issuer = issue_issuer_certificate(ca, "62280001", "1230", "rsa", bits=1408)
    icc = issue_icc_certificate(issuer, PAN, "1230", STATIC, "rsa", aip=AIP, bits=1024)
    return Chain(ca, issuer, icc)


@pytest.fixture(params=["rsa", "sm2"])
def chain(request: pytest.FixtureRequest) -> Chain:
    return request.getfixturevalue(f"{request.param}_chain")  # type: ignore[no-any-return]


def _check(err: pytest.ExceptionInfo[OdaError]) -> str:
    assert PAN not in str(err.value)
    return err.value.check


# ------------------------------------------------------------------------------- happy paths


def test_chain_verifies(chain: Chain) -> None:
    issuer_pk = chain.issuer_pk()
    assert issuer_pk == chain.issuer.public_key
    icc_pk = chain.icc_pk(issuer_pk=issuer_pk)
    assert icc_pk == chain.icc.public_key
    assert verify_sda(issuer_pk, chain.ssad, STATIC, AIP) == b"\xda\xc1"
    assert verify_dda(icc_pk, chain.sdad, DDOL_DATA) == bytes.fromhex("080102030405060708")
    assert verify_fdda(icc_pk, chain.fdda, **FDDA) == bytes.fromhex("04A1B2C3D4")


def test_chain_with_ca_key_object_and_pan_from_tag_5a(rsa_chain: Chain) -> None:
    pk = rsa_chain.issuer_pk(ca=rsa_chain.ca.public_only(), pan=bytes.fromhex(PAN))
    assert pk == rsa_chain.issuer.public_key


def test_sda_without_aip(chain: Chain) -> None:
    ssad = sign_static_data(chain.issuer, STATIC, b"\x12\x34", aip=None)
    assert verify_sda(chain.issuer.public_key, ssad, STATIC, None) == b"\x12\x34"
    with pytest.raises(OdaError):
        verify_sda(chain.issuer.public_key, ssad, STATIC, AIP)


def test_today_defaults_to_the_clock(rsa_chain: Chain) -> None:
    record = rsa_chain.ca.capk_record()
    issuer = issue_issuer_certificate(rsa_chain.ca, "622800", "1249", "rsa", seed=11)
    pk = recover_issuer_public_key(
        record, issuer.cert_90, issuer.remainder_92, issuer.exponent_9f32, PAN
    )
    assert pk == issuer.public_key


def test_remainders_when_the_key_does_not_fit(rsa_chain: Chain) -> None:
    assert len(rsa_chain.issuer.cert_90) == 128
    assert len(rsa_chain.issuer.remainder_92) == 128 - (128 - 36)  # NI − (NCA − 36)
    assert len(rsa_chain.icc.remainder_9f48) == 128 - (128 - 42)  # NIC − (NI − 42)
    assert rsa_chain.issuer.exponent_9f32 == b"\x03"
    assert rsa_chain.icc.exponent_9f47 == b"\x01\x00\x01"  # as the reference card's 9F47


def test_no_remainder_when_the_key_fits(fitting_chain: Chain) -> None:
    assert fitting_chain.issuer.remainder_92 == b""
    assert fitting_chain.icc.remainder_9f48 == b""
    block = rsa_public_raw(_rsa_pub(fitting_chain.ca.public_key), fitting_chain.issuer.cert_90)
    cert = oda_rsa.open_certificate(block)
    modulus = _rsa_pub(fitting_chain.issuer.public_key).modulus_bytes()
    assert cert.pk_field == modulus + b"\xbb" * (248 - 36 - 176)
    icc_block = rsa_public_raw(
        _rsa_pub(fitting_chain.issuer.public_key), fitting_chain.icc.cert_9f46
    )
    icc_modulus = _rsa_pub(fitting_chain.icc.public_key).modulus_bytes()
    assert oda_rsa.open_certificate(icc_block).pk_field == icc_modulus + b"\xbb" * (176 - 42 - 128)
    issuer_pk = fitting_chain.issuer_pk()
    icc_pk = fitting_chain.icc_pk(issuer_pk=issuer_pk)
    assert verify_dda(icc_pk, fitting_chain.sdad, DDOL_DATA)[0] == 8


# ------------------------------------------------------------------- recovered data layouts


def _rsa_pub(key: object) -> RsaPublicKey:
    assert isinstance(key, RsaPublicKey)
    return key


def _rsa_priv(key: object) -> RsaPrivateKey:
    assert isinstance(key, RsaPrivateKey)
    return key


def test_issuer_certificate_layout(rsa_chain: Chain) -> None:
    """EMV Book 2 table 6: 6A 02 id(4) MMYY serial(3) 01 01 NI len(e) n… hash(20) BC."""
    block = rsa_public_raw(_rsa_pub(rsa_chain.ca.public_key), rsa_chain.issuer.cert_90)
    modulus = _rsa_pub(rsa_chain.issuer.public_key).modulus_bytes()
    assert block[0] == 0x6A
    assert block[1] == 0x02
    assert block[2:6] == bytes.fromhex("622800FF")
    assert block[6:8] == bytes.fromhex("1230")
    assert block[8:11] == bytes.fromhex("000001")
    assert block[11] == 0x01  # hash algorithm: SHA-1
    assert block[12] == 0x01  # issuer public key algorithm: RSA
    assert block[13] == 128  # NI
    assert block[14] == 1  # exponent length
    assert block[15:107] == modulus[:92]  # NCA − 36 leftmost bytes
    assert rsa_chain.issuer.remainder_92 == modulus[92:]
    hashed = block[1:107] + rsa_chain.issuer.remainder_92 + b"\x03"
    assert block[107:127] == hashlib.sha1(hashed).digest()
    assert block[127] == 0xBC


def test_icc_certificate_layout(rsa_chain: Chain) -> None:
    """EMV Book 2 table 14: 6A 04 PAN(10) MMYY serial 01 01 NIC len(e) n… hash BC."""
    block = rsa_public_raw(_rsa_pub(rsa_chain.issuer.public_key), rsa_chain.icc.cert_9f46)
    cert = oda_rsa.open_certificate(block)
    modulus = _rsa_pub(rsa_chain.icc.public_key).modulus_bytes()
    assert (cert.header, cert.format, cert.trailer) == (0x6A, 0x04, 0xBC)
    assert cert.identifier == bytes.fromhex(PAN + "FFFF")
    assert (cert.expiry, cert.hash_algorithm, cert.pk_algorithm) == (b"\x12\x30", 1, 1)
    assert (cert.pk_length, cert.exponent_length) == (128, 3)
    assert cert.pk_field == modulus[:86]
    hashed = block[1:107] + rsa_chain.icc.remainder_9f48 + b"\x01\x00\x01" + STATIC + AIP
    assert cert.hash_result == hashlib.sha1(hashed).digest()
    assert "6228" not in repr(cert)


def test_signed_static_data_layout(rsa_chain: Chain) -> None:
    """EMV Book 2 table 7: 6A 03 01 DAC(2) BB…(NI − 26) hash BC."""
    block = rsa_public_raw(_rsa_pub(rsa_chain.issuer.public_key), rsa_chain.ssad)
    assert block[:5] == bytes.fromhex("6A0301DAC1")
    assert block[5:107] == b"\xbb" * (128 - 26)
    assert block[107:127] == hashlib.sha1(block[1:107] + STATIC + AIP).digest()
    assert block[127] == 0xBC


def test_signed_dynamic_data_layout(rsa_chain: Chain) -> None:
    """EMV Book 2 table 17: 6A 05 01 LDD data BB…(NIC − LDD − 25) hash BC."""
    block = rsa_public_raw(_rsa_pub(rsa_chain.icc.public_key), rsa_chain.sdad)
    assert block[:4] == bytes.fromhex("6A050109")
    assert block[4:13] == bytes.fromhex("080102030405060708")
    assert block[13:107] == b"\xbb" * (128 - 9 - 25)
    assert block[107:127] == hashlib.sha1(block[1:107] + DDOL_DATA).digest()
    assert block[127] == 0xBC


def test_fdda_layout(rsa_chain: Chain) -> None:
    block = rsa_public_raw(_rsa_pub(rsa_chain.icc.public_key), rsa_chain.fdda)
    assert block[:9] == bytes.fromhex("6A05010504A1B2C3D4")
    terminal = bytes.fromhex("01020304000000001000015601A1B2C3D43000")
    assert fdda_terminal_data(**FDDA) == terminal
    assert block[107:127] == hashlib.sha1(block[1:107] + terminal).digest()


def test_sm2_layouts(sm2_chain: Chain) -> None:
    """Formats 12 / 14 / 13 / 15 (docs/standards/card-terminal.md §1.7); signatures with ZA, default
    ID."""
    ca_pk, issuer_pk = sm2_chain.ca.public_key, sm2_chain.issuer.public_key
    icc_pk = sm2_chain.icc.public_key
    assert isinstance(ca_pk, sm2.Sm2PublicKey) and isinstance(issuer_pk, sm2.Sm2PublicKey)
    assert isinstance(icc_pk, sm2.Sm2PublicKey)
    cert = sm2_chain.issuer.cert_90
    assert cert[:14] == bytes.fromhex("12622800FF123000000104000040")
    assert cert[14:78] == issuer_pk.point[1:]
    assert len(cert) == 142 and sm2.verify(ca_pk, cert[:78], cert[78:])
    icc_cert = sm2_chain.icc.cert_9f46
    assert icc_cert[0] == 0x14 and icc_cert[1:11] == bytes.fromhex(PAN + "FFFF")
    assert icc_cert[11:13] == b"\x12\x30" and icc_cert[16:20] == bytes.fromhex("04000040")
    assert icc_cert[20:84] == icc_pk.point[1:]
    assert sm2.verify(issuer_pk, icc_cert[:84] + STATIC + AIP, icc_cert[84:])
    assert sm2_chain.ssad[:3] == bytes.fromhex("13DAC1") and len(sm2_chain.ssad) == 67
    assert sm2.verify(issuer_pk, sm2_chain.ssad[:3] + STATIC + AIP, sm2_chain.ssad[3:])
    assert sm2_chain.sdad[:11] == bytes.fromhex("1509080102030405060708")
    assert sm2.verify(icc_pk, sm2_chain.sdad[:11] + DDOL_DATA, sm2_chain.sdad[11:])
    assert sm2_chain.issuer.remainder_92 == sm2_chain.issuer.exponent_9f32 == b""


# ----------------------------------------------------------------------------- tampering


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1 :]


TAMPER: dict[str, Callable[[Chain, bytes], object]] = {
    "cert_90": lambda c, v: c.issuer_pk(cert_90=v),
    "remainder_92": lambda c, v: c.issuer_pk(remainder_92=v),
    "exponent_9f32": lambda c, v: c.issuer_pk(exponent_9f32=v),
    "cert_9f46": lambda c, v: c.icc_pk(cert_9f46=v),
    "remainder_9f48": lambda c, v: c.icc_pk(remainder_9f48=v),
    "exponent_9f47": lambda c, v: c.icc_pk(exponent_9f47=v),
    "static_data": lambda c, v: c.icc_pk(static_data=v),
    "aip": lambda c, v: c.icc_pk(aip=v),
    "ssad_93": lambda c, v: verify_sda(c.issuer.public_key, v, STATIC, AIP),
    "sdad_9f4b": lambda c, v: verify_dda(c.icc.public_key, v, DDOL_DATA),
    "ddol_data": lambda c, v: verify_dda(c.icc.public_key, c.sdad, v),
    "fdda_9f4b": lambda c, v: verify_fdda(c.icc.public_key, v, **FDDA),
}


def _original(c: Chain, name: str) -> bytes:
    sources = {
        "cert_90": c.issuer.cert_90,
        "remainder_92": c.issuer.remainder_92,
        "exponent_9f32": c.issuer.exponent_9f32,
        "cert_9f46": c.icc.cert_9f46,
        "remainder_9f48": c.icc.remainder_9f48,
        "exponent_9f47": c.icc.exponent_9f47,
        "static_data": STATIC,
        "aip": AIP,
        "ssad_93": c.ssad,
        "sdad_9f4b": c.sdad,
        "ddol_data": DDOL_DATA,
        "fdda_9f4b": c.fdda,
    }
    return sources[name]


RSA_ONLY = {"remainder_92", "exponent_9f32", "remainder_9f48", "exponent_9f47"}  # empty in SM2


@pytest.mark.parametrize(
    ("alg", "name"),
    [
        (alg, name)
        for alg in ("rsa", "sm2")
        for name in sorted(TAMPER)
        if alg == "rsa" or name not in RSA_ONLY
    ],
)
def test_every_tampered_byte_is_detected(
    request: pytest.FixtureRequest, alg: str, name: str
) -> None:
    chain: Chain = request.getfixturevalue(f"{alg}_chain")
    original = _original(chain, name)
    TAMPER[name](chain, original)  # the untouched value passes
    allowed = INTEGRITY if alg == "rsa" else SM2_INTEGRITY
    for i in range(len(original)):
        with pytest.raises(OdaError) as err:
            TAMPER[name](chain, _flip(original, i))
        assert _check(err) in allowed, (name, i)


@pytest.mark.parametrize("name", ["cert_90", "cert_9f46", "ssad_93", "sdad_9f4b"])
def test_truncated_or_extended_data_is_a_length_failure(chain: Chain, name: str) -> None:
    original = _original(chain, name)
    for value in (original[:-1], original + b"\x00"):
        with pytest.raises(OdaError) as err:
            TAMPER[name](chain, value)
        assert _check(err) in {"length", "dynamic_data", "signature"}


# -------------------------------------------------------------------- identity and dates


def test_wrong_pan_for_the_issuer_certificate(chain: Chain) -> None:
    with pytest.raises(OdaError) as err:
        chain.issuer_pk(pan="6228010100001113")
    assert _check(err) == "issuer_id"
    assert "622801******1113" in str(err.value)


def test_wrong_pan_for_the_icc_certificate(chain: Chain) -> None:
    with pytest.raises(OdaError) as err:
        chain.icc_pk(pan=OTHER_PAN)
    assert _check(err) == "pan"
    assert OTHER_PAN not in str(err.value)


@pytest.mark.parametrize(
    ("today", "ok"),
    [(date(2025, 12, 31), True), (date(2026, 1, 1), False), (date(2030, 1, 1), False)],
)
@pytest.mark.parametrize("alg", ["rsa", "sm2"])
def test_expired_certificates(alg: str, today: date, ok: bool) -> None:
    """Valid through the last day of the MMYY month (EMV Book 2 5.3 step 9)."""
    ca = builtin_test_ca(alg)
    issuer = issue_issuer_certificate(ca, "622800", "1225", alg, seed=21)
    icc = issue_icc_certificate(issuer, PAN, "1225", STATIC, alg, aip=AIP, seed=22)
    c = Chain(ca, issuer, icc)
    for step in (c.issuer_pk, c.icc_pk):
        if ok:
            step(today=today)
        else:
            with pytest.raises(OdaError) as err:
                step(today=today)
            assert _check(err) == "expired"


def test_issuer_id_of_three_to_eight_digits(rsa_chain: Chain) -> None:
    for digits in ("622", "62280001"):
        issuer = issue_issuer_certificate(rsa_chain.ca, digits, "1230", "rsa", seed=11)
        assert Chain(rsa_chain.ca, issuer, rsa_chain.icc).issuer_pk() == issuer.public_key
    with pytest.raises(UsageError):
        issue_issuer_certificate(rsa_chain.ca, "62", "1230", "rsa", seed=11)


# ------------------------------------------------------------------------- CA keys


def test_wrong_ca_index(chain: Chain) -> None:
    table = [builtin_test_ca("rsa").capk_record(), builtin_test_ca("sm2").capk_record()]
    assert find_capk(table, bytes.fromhex("A000000333010101"), chain.ca.index) == chain.ca
    with pytest.raises(OdaError) as err:
        find_capk(table, bytes.fromhex("A000000333010101"), 0x99)
    assert _check(err) == "ca_index"
    with pytest.raises(OdaError) as err:
        chain.issuer_pk(ca_index_8f=0x99)
    assert _check(err) == "ca_index"


def test_another_ca_key_does_not_recover(chain: Chain) -> None:
    other = create_test_ca(chain.ca.alg, 0x99, seed=5)
    with pytest.raises(OdaError) as err:
        chain.issuer_pk(ca=other)
    allowed = INTEGRITY if chain.ca.alg == "rsa" else {"signature"}
    assert _check(err) in allowed


def test_capk_record(chain: Chain) -> None:
    record = chain.ca.capk_record()
    rid_index = bytes.fromhex("A000000333") + bytes([chain.ca.index])
    if chain.ca.alg == "rsa":
        expected = hashlib.sha1(rid_index + chain.ca.modulus + b"\x03").digest()
        assert (record["hash_algorithm"], record["pk_algorithm"], record["exponent"]) == (
            1,
            1,
            "03",
        )
    else:
        expected = sm3(rid_index + chain.ca.modulus)
        assert (record["hash_algorithm"], record["pk_algorithm"], record["exponent"]) == (7, 4, "")
    assert record["checksum"] == expected.hex().upper()
    assert "private" not in str(record)
    assert CaKey.from_capk_record(record) == CaKey.from_capk_record(record).public_only()
    bad = dict(record, checksum="00" * len(expected))
    with pytest.raises(OdaError) as err:
        CaKey.from_capk_record(bad)
    assert _check(err) == "capk_checksum"
    with pytest.raises(UsageError):
        CaKey.from_capk_record({"alg": "rsa"})


def test_seeded_keys_are_reproducible() -> None:
    for alg in ("rsa", "sm2"):
        a, b = create_test_ca(alg, 0x80, seed=3), create_test_ca(alg, 0x80, seed=3)
        assert a.public_key == b.public_key
        assert create_test_ca(alg, 0x80, seed=4).public_key != a.public_key
    rsa_ca = builtin_test_ca("rsa")
    one = issue_issuer_certificate(rsa_ca, "622800", "1230", "rsa", seed=9)
    two = issue_issuer_certificate(rsa_ca, "622800", "1230", "rsa", seed=9)
    assert one.cert_90 == two.cert_90 and one.serial == two.serial


def test_builtin_test_ca() -> None:
    rsa_ca, sm2_ca = builtin_test_ca("rsa"), builtin_test_ca("sm2")
    assert (rsa_ca.alg, rsa_ca.index, _rsa_pub(rsa_ca.public_key).size) == ("rsa", 0x80, 128)
    assert (sm2_ca.alg, sm2_ca.index) == ("sm2", 0x81)
    assert rsa_ca.rid == sm2_ca.rid == bytes.fromhex("A000000333")


# ------------------------------------------------------------------ forged field values


def _forge_issuer(ca: CaKey, issuer: IssuerKey, **fields: int) -> bytes:
    """A validly signed issuer certificate with some recovered fields overridden."""
    block = bytearray(rsa_public_raw(_rsa_pub(ca.public_key), issuer.cert_90))
    positions = {"header": 0, "format": 1, "hash_algorithm": 11, "pk_algorithm": 12, "trailer": 127}
    for name, value in fields.items():
        block[positions[name]] = value
    if "trailer" not in fields and "header" not in fields:
        hashed = bytes(block[1:107]) + issuer.remainder_92 + issuer.exponent_9f32
        block[107:127] = hashlib.sha1(hashed).digest()
    return rsa_private_raw(_rsa_priv(ca.private_key), bytes(block))


@pytest.mark.parametrize(
    ("fields", "check"),
    [
        ({"header": 0x6B}, "header"),
        ({"format": 0x04}, "format"),
        ({"hash_algorithm": 0x02}, "hash_algorithm"),
        ({"pk_algorithm": 0x02}, "pk_algorithm"),
        ({"trailer": 0xBD}, "trailer"),
    ],
)
def test_each_recovered_field_is_checked(
    rsa_chain: Chain, fields: dict[str, int], check: str
) -> None:
    forged = _forge_issuer(rsa_chain.ca, rsa_chain.issuer, **fields)
    with pytest.raises(OdaError) as err:
        rsa_chain.issuer_pk(cert_90=forged)
    assert _check(err) == check


def test_forging_with_no_change_still_verifies(rsa_chain: Chain) -> None:
    forged = _forge_issuer(rsa_chain.ca, rsa_chain.issuer)
    assert rsa_chain.issuer_pk(cert_90=forged) == rsa_chain.issuer.public_key


def test_fdda_card_un_must_match_9f69(chain: Chain) -> None:
    terminal = fdda_terminal_data(**FDDA)
    wrong = sign_dynamic_data(chain.icc, icc_dynamic_data(b"\x00\x00\x00\x00"), terminal)
    with pytest.raises(OdaError) as err:
        verify_fdda(chain.icc.public_key, wrong, **FDDA)
    assert _check(err) == "card_un"


def test_dynamic_data_length_byte_checked(rsa_chain: Chain) -> None:
    icc = _rsa_priv(rsa_chain.icc.private_key)
    block = bytearray(rsa_public_raw(icc.public_key, rsa_chain.sdad))
    block[3] = 128 - 24  # LDD > NIC − 25
    with pytest.raises(OdaError) as err:
        verify_dda(icc.public_key, rsa_private_raw(icc, bytes(block)), DDOL_DATA)
    assert _check(err) == "dynamic_data"


# ---------------------------------------------------------------------- errors and reprs


def test_oda_error_is_typed_and_pickles() -> None:
    err = OdaError("hash", "ICC public key certificate", "detail")
    assert isinstance(err, CryptoError) and isinstance(err, ZhifuError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.check, str(copy)) == ("hash", str(err))


def test_reprs_hide_keys_and_pan(rsa_chain: Chain, sm2_chain: Chain) -> None:
    for c in (rsa_chain, sm2_chain):
        text = repr(c.ca) + repr(c.issuer) + repr(c.icc)
        assert PAN not in text and "<masked>" in text and "622800******1117" in text


def test_dict_round_trips(chain: Chain) -> None:
    ca = CaKey.from_dict(chain.ca.to_dict())
    assert ca.private_key == chain.ca.private_key
    issuer = IssuerKey.from_dict(chain.issuer.to_dict())
    assert issuer.to_dict() == chain.issuer.to_dict()
    icc = IccKey.from_dict(chain.icc.to_dict())
    assert icc.to_dict() == chain.icc.to_dict() and icc.private_key == chain.icc.private_key


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: issue_issuer_certificate(c.ca, "622800", "1230", "sm2"), "alg"),
        (lambda c: issue_issuer_certificate(c.ca, "622800", "1330", "rsa", seed=1), "expiry_mmyy"),
        (lambda c: issue_issuer_certificate(c.ca, "622800", "1230", "rsa", bits=1032), "bits"),
        (lambda c: issue_issuer_certificate(c.ca, "622800", "1230", "rsa", bits=1000), "bits"),
        (lambda c: issue_issuer_certificate(c.ca.public_only(), "622800", "1230", "rsa"), "ca"),
        (lambda c: issue_icc_certificate(c.issuer, "62280", "1230", STATIC, "rsa", aip=AIP), "pan"),
        (lambda c: sign_static_data(c.issuer, STATIC, aip=b"\x7c"), "aip"),
        (lambda c: sign_static_data(c.issuer, STATIC, b"\x01", aip=AIP), "dac"),
        (lambda c: sign_dynamic_data(c.icc, bytes(104), b""), "icc_dynamic_data"),
        (lambda c: icc_dynamic_data(b"\x01"), "icc_dynamic_number"),
        (lambda c: sign_fdda(c.icc, **dict(FDDA, amount=b"\x10")), "amount"),
        (
            lambda c: sign_fdda(c.icc, **dict(FDDA, card_auth_data_9f69=b"\x00" * 7)),
            "card_auth_data_9f69",
        ),
        (lambda c: create_test_ca("dsa", 1), "alg"),
    ],
)
def test_usage_errors_name_the_argument(
    rsa_chain: Chain, call: Callable[[Chain], object], argument: str
) -> None:
    with pytest.raises(UsageError) as err:
        call(rsa_chain)
    assert err.value.argument == argument
    assert PAN not in str(err.value)


# ---------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(static=st.binary(max_size=400), aip=st.one_of(st.none(), st.binary(min_size=2, max_size=2)))
def test_random_static_data_round_trips(rsa_chain: Chain, static: bytes, aip: bytes | None) -> None:
    issuer = _rsa_priv(rsa_chain.issuer.private_key)
    icc_pk = _rsa_pub(rsa_chain.icc.public_key)
    data = static + (aip or b"")
    cert, remainder, _ = oda_rsa.sign_icc_certificate(
        issuer, icc_pk, PAN, "1230", b"\x00\x00\x07", static_data=data
    )
    assert (
        rsa_chain.icc_pk(cert_9f46=cert, remainder_9f48=remainder, static_data=static, aip=aip)
        == icc_pk
    )
    ssad = sign_static_data(rsa_chain.issuer, static, aip=aip)
    assert verify_sda(issuer.public_key, ssad, static, aip) == b"\xda\xc1"
    if static:
        with pytest.raises(OdaError):
            verify_sda(issuer.public_key, ssad, _flip(static, len(static) // 2), aip)


@settings(max_examples=30, deadline=None)
@given(dynamic=st.binary(max_size=103), terminal=st.binary(max_size=64))
def test_random_dynamic_data_round_trips(rsa_chain: Chain, dynamic: bytes, terminal: bytes) -> None:
    sdad = sign_dynamic_data(rsa_chain.icc, dynamic, terminal)
    assert verify_dda(rsa_chain.icc.public_key, sdad, terminal) == dynamic


@settings(max_examples=15, deadline=None)
@given(static=st.binary(max_size=300), dynamic=st.binary(max_size=40))
def test_random_data_round_trips_sm2(sm2_chain: Chain, static: bytes, dynamic: bytes) -> None:
    issuer_pk, icc_pk = sm2_chain.issuer.public_key, sm2_chain.icc.public_key
    assert isinstance(issuer_pk, sm2.Sm2PublicKey)
    issuer = sm2_chain.issuer.private_key
    assert isinstance(issuer, sm2.Sm2PrivateKey) and isinstance(icc_pk, sm2.Sm2PublicKey)
    cert = oda_sm2.sign_icc_certificate(
        issuer, icc_pk, PAN, "1230", b"\x00\x00\x07", static_data=static
    )
    assert sm2_chain.icc_pk(cert_9f46=cert, static_data=static, aip=None) == icc_pk
    sdad = sign_dynamic_data(sm2_chain.icc, dynamic, static)
    assert verify_dda(icc_pk, sdad, static) == dynamic
