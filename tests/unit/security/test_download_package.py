"""Signed download packages, the shared format (docs/terminal.md "Downloads"): the kinds' tables,
canonical JSON, the file's form, SM2 and RSA-PSS signatures checked against independent
implementations, and every way a package can be wrong refused with its own error."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gmssl import sm2 as gmssl_sm2

from zhifu.card.oda.ca import builtin_test_ca
from zhifu.security.download import errors
from zhifu.security.download.canonical import canonical, parse_canonical
from zhifu.security.download.errors import (
    ContentError,
    DigestError,
    DownloadError,
    MalformedPackageError,
    SignatureError,
    UnknownSignerError,
)
from zhifu.security.download.kinds import (
    ENTRY_TYPES,
    SCHEMAS,
    Kind,
    check_content,
    check_data,
)
from zhifu.security.download.package import (
    MAGIC,
    Entry,
    Op,
    Signer,
    decode_file,
    encode_body,
    encode_file,
    make_entry,
)
from zhifu.security.download.signing import key_id, sign_package, signer_of, verify_package
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.store import KeyStore

CREATED = "2026-01-05T09:00:00+08:00"
AID = {
    "aid": "A000000333010101",
    "label": "UnionPay debit",
    "asi": 0,
    "app_version": "0020",
    "tac_default": "D84000A800",
    "tac_online": "D84004F800",
    "tac_denial": "0010000000",
    "floor_limit": 0,
    "threshold": 0,
    "max_target_percent": 99,
    "target_percent": 99,
    "ddol": "9F3704",
    "tdol": "",
    "online_pin": 1,
    "ec_limit": 100_000,
    "cl_floor_limit": 100_000,
    "cl_limit": 100_000,
    "cvm_limit": 100_000,
}


def _capk(alg: str) -> tuple[str, dict[str, Any]]:
    record = dict(builtin_test_ca(alg).capk_record())
    record.pop("alg")
    record["expiry"] = "20491231"
    return f"{record['rid']}-{record['index']:02X}", record


@pytest.fixture
def platform() -> SoftHsm:
    return SoftHsm(KeyStore.in_memory())


def _signer(platform: SoftHsm, algorithm: KeyAlgorithm) -> KeyHandle:
    return platform.generate_key(KeyUsage.SIGNING, algorithm)


def _params(platform: SoftHsm, signer: KeyHandle, **overrides: Any) -> bytes:
    entries = [
        make_entry(Op.UPDATE, "terminal", {"merchant_name": "湖畔面馆"}),
        make_entry(Op.ADD, "aid:A000000333010101", AID),
        make_entry(Op.DELETE, "aid:A000000333010106"),
    ]
    fields: dict[str, Any] = {
        "terminal_id": "10000001",
        "kind": Kind.PARAMS,
        "version": 3,
        "base_version": 2,
        "created": CREATED,
        "entries": entries,
    }
    return sign_package(platform, signer, **{**fields, **overrides})


def _trusted(platform: SoftHsm, signer: KeyHandle) -> tuple[SoftHsm, KeyHandle]:
    terminal = SoftHsm(KeyStore.in_memory())
    algorithm = platform.key_info(signer).algorithm
    return terminal, terminal.import_public_key(platform.get_public_key(signer), algorithm)


# --- the tables ---------------------------------------------------------------------------------


def test_the_schema_tables_are_consistent() -> None:
    assert {t.schema for t in ENTRY_TYPES} == set(SCHEMAS)
    assert {t.kind for t in ENTRY_TYPES} == set(Kind)
    for name, fields in SCHEMAS.items():
        names = [f.name for f in fields]
        assert len(names) == len(set(names)), name
        for spec in fields:
            assert spec.type in {"hex", "int", "text", "digits", "choice", "base64"}
            assert bool(spec.choices) == (spec.type == "choice"), spec
            assert spec.type == "choice" or 0 <= spec.low <= spec.high, spec


def test_every_refusal_has_its_own_code_and_is_listed() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, DownloadError) and c is not DownloadError
    ]
    assert set(classes) == set(errors.ERRORS)
    codes = [c.code for c in errors.ERRORS]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("alg", ["rsa", "sm2"])
def test_capk_check_values_agree_with_the_card_packages_ca(alg: str) -> None:
    """The check value rule (EMV Book 2 §11.2.2; SM3 for SM2) against zhifu.card.oda's CA."""
    entry_id, record = _capk(alg)
    check_data(Kind.CAPK, entry_id, record, field="e")
    check_content(Kind.CAPK, entry_id, record)
    bad = {**record, "checksum": "00" * (len(record["checksum"]) // 2)}
    with pytest.raises(ContentError, match="check value does not match"):
        check_content(Kind.CAPK, entry_id, bad)
    with pytest.raises(ContentError, match="RID-index"):
        check_content(Kind.CAPK, "A000000333-7F", record)


@pytest.mark.parametrize(
    ("kind", "entry_id", "data", "where"),
    [
        (Kind.PARAMS, "aid:A000000333010101", {**AID, "floor_limit": 1.5}, "floor_limit"),
        (Kind.PARAMS, "aid:A000000333010101", {**AID, "floor_limit": -1}, "floor_limit"),
        (Kind.PARAMS, "aid:A000000333010101", {**AID, "online_pin": True}, "online_pin"),
        (Kind.PARAMS, "aid:A000000333010101", {**AID, "ddol": "9f3704"}, "ddol"),
        (Kind.PARAMS, "terminal", {"merchant_name": ""}, "merchant_name"),
        (
            Kind.KEYS,
            "pik",
            {"usage": "kek", "algorithm": "3des", "key": "00" * 16, "kcv": "000000"},
            "usage",
        ),
        (
            Kind.PROGRAM,
            "pos",
            {"version": "1", "size": 1, "sha256": "00" * 32, "blob": "AB=="},
            "blob",
        ),  # not canonical base64
    ],
)
def test_fields_of_the_wrong_form_are_named(
    kind: Kind, entry_id: str, data: Any, where: str
) -> None:
    with pytest.raises(MalformedPackageError) as caught:
        check_data(kind, entry_id, data, field="e")
    assert caught.value.field == f"e.{where}"


def test_unknown_and_missing_fields_and_ids_are_refused() -> None:
    with pytest.raises(MalformedPackageError, match="lacks tdol"):
        check_data(
            Kind.PARAMS,
            "aid:A000000333010101",
            {k: v for k, v in AID.items() if k != "tdol"},
            field="e",
        )
    with pytest.raises(MalformedPackageError, match="unknown pin"):
        check_data(Kind.PARAMS, "terminal", {"merchant_name": "x", "pin": "1234"}, field="e")
    with pytest.raises(MalformedPackageError, match="not an entry id"):
        check_data(Kind.CAPK, "terminal", {"merchant_name": "x"}, field="e")


def test_a_program_must_match_its_size_and_digest() -> None:
    blob = b"\x7fELF program"
    good = {
        "version": "2.1.0",
        "size": len(blob),
        "blob": base64.b64encode(blob).decode(),
        "sha256": hashlib.sha256(blob).hexdigest().upper(),
    }
    check_content(Kind.PROGRAM, "pos", good)
    with pytest.raises(ContentError, match="SHA-256"):
        check_content(Kind.PROGRAM, "pos", {**good, "sha256": "00" * 32})
    with pytest.raises(ContentError, match="announced"):
        check_content(Kind.PROGRAM, "pos", {**good, "size": 3})


# --- canonical JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":1,"a":2}',  # a key twice
        b'{"a":1.0}',  # a float
        b'{"a":1e3}',
        b'{"a":NaN}',
        b'{"a": 1}',  # a space
        b'{"b":1,"a":2}',  # key order
        b'{"a":"\\u6e56"}',  # an escaped letter
        b'{"a":"\xff"}',  # not UTF-8
        b"[1]",  # not an object
        b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # nested past the recursion limit
        b'{"a":1',  # cut
    ],
)
def test_only_the_canonical_form_is_accepted(text: bytes) -> None:
    with pytest.raises(MalformedPackageError):
        parse_canonical(text, field="body")


def test_canonical_json_round_trips_text_and_large_integers() -> None:
    value = {"名": "湖畔面馆\n", "n": 999_999_999_999, "l": [True, None, {"z": 0, "a": ""}]}
    assert parse_canonical(canonical(value), field="body") == value


# --- the file -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.SM2, KeyAlgorithm.RSA])
def test_a_signed_package_reads_back_and_verifies(
    platform: SoftHsm, algorithm: KeyAlgorithm
) -> None:
    signer = _signer(platform, algorithm)
    data = _params(platform, signer)
    package = decode_file(data)
    assert (package.terminal_id, package.kind, package.version, package.base_version) == (
        "10000001",
        Kind.PARAMS,
        3,
        2,
    )
    assert [e.id for e in package.entries] == [
        "aid:A000000333010101",
        "aid:A000000333010106",
        "terminal",
    ]
    assert package.signer == signer_of(platform, signer)
    lines = data.split(b"\n")
    assert len(lines) == 4 and lines[0] + b"\n" == MAGIC and lines[3] == b""
    assert json.loads(lines[1])["signer"]["key_id"] == key_id(
        algorithm, platform.get_public_key(signer)
    )
    verify_package(*_trusted(platform, signer), package)


def test_the_sm2_signature_verifies_with_gmssl(platform: SoftHsm) -> None:
    """SM2 with SM3 and the GM/T 0009 default ID, checked by an independent implementation."""
    signer = _signer(platform, KeyAlgorithm.SM2)
    package = decode_file(_params(platform, signer))
    point = platform.get_public_key(signer)[1:].hex()
    oracle = gmssl_sm2.CryptSM2(private_key="", public_key=point)
    assert oracle.verify_with_sm3(package.signature.hex(), package.signed_bytes)
    assert not oracle.verify_with_sm3(package.signature.hex(), package.signed_bytes + b" ")


def test_the_rsa_signature_is_pss_with_sha256(platform: SoftHsm) -> None:
    signer = _signer(platform, KeyAlgorithm.RSA)
    package = decode_file(_params(platform, signer))
    public = serialization.load_der_public_key(platform.get_public_key(signer))
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048 and len(package.signature) == 256
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    public.verify(package.signature, package.signed_bytes, pss, hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(package.signature, package.signed_bytes, padding.PKCS1v15(), hashes.SHA256())


def test_every_truncation_is_refused_as_malformed(platform: SoftHsm) -> None:
    data = _params(platform, _signer(platform, KeyAlgorithm.SM2))
    for length in range(len(data)):
        with pytest.raises(MalformedPackageError):
            decode_file(data[:length])
    with pytest.raises(MalformedPackageError, match="more bytes"):
        decode_file(data + b"\n")


def test_a_flipped_bit_anywhere_is_refused(platform: SoftHsm) -> None:
    """Every bit of a package flipped in turn: each copy is refused, mostly as malformed or
    badly signed, never accepted."""
    signer = _signer(platform, KeyAlgorithm.SM2)
    data = _params(platform, signer)
    terminal, trusted = _trusted(platform, signer)
    refused: dict[str, int] = {}
    for bit in range(len(data) * 8):
        copy = bytearray(data)
        copy[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DownloadError) as caught:
            verify_package(terminal, trusted, decode_file(bytes(copy)))
        refused[caught.value.code] = refused.get(caught.value.code, 0) + 1
    assert set(refused) <= {"malformed", "bad_signature", "unknown_signer"}
    assert refused["bad_signature"] > 100 and refused["malformed"] > 100


def test_reordered_entries_and_a_full_package_that_updates_are_malformed(
    platform: SoftHsm,
) -> None:
    signer = _signer(platform, KeyAlgorithm.SM2)
    body = json.loads(decode_file(_params(platform, signer)).body)
    body["entries"].reverse()
    with pytest.raises(MalformedPackageError, match="sorted by id"):
        decode_file(MAGIC + canonical(body) + b"\n" + b"00" * 64 + b"\n")
    with pytest.raises(MalformedPackageError, match="only adds"):
        _params(platform, signer, base_version=0)


def test_another_signer_or_a_forged_key_id_is_refused(platform: SoftHsm) -> None:
    signer, other = _signer(platform, KeyAlgorithm.SM2), _signer(platform, KeyAlgorithm.SM2)
    terminal, trusted = _trusted(platform, signer)
    with pytest.raises(UnknownSignerError, match="ask the platform"):
        verify_package(terminal, trusted, decode_file(_params(platform, other)))
    # the other key's package re-labelled with the trusted key's id: the signature fails
    forged = _params(platform, other).replace(
        signer_of(platform, other).key_id.encode(), signer_of(platform, signer).key_id.encode()
    )
    with pytest.raises(SignatureError, match="fetch the package again"):
        verify_package(terminal, trusted, decode_file(forged))


def _sign_raw(
    platform: SoftHsm, signer: KeyHandle, entries: list[Entry], kind: Kind = Kind.PARAMS
) -> bytes:
    """A validly signed package whose entries skip the platform's own checks."""
    body = encode_body("10000001", kind, 1, 0, CREATED, signer_of(platform, signer), entries)
    return encode_file(body, platform.sign(signer, MAGIC + body + b"\n"))


def test_a_wrong_entry_digest_or_bad_content_is_refused_after_the_signature(
    platform: SoftHsm,
) -> None:
    signer = _signer(platform, KeyAlgorithm.SM2)
    terminal, trusted = _trusted(platform, signer)
    good = make_entry(Op.ADD, "terminal", {"merchant_name": "湖畔面馆"})
    wrong = Entry(good.id, good.op, good.data, "0" * 64)
    with pytest.raises(DigestError, match="entry terminal"):
        verify_package(terminal, trusted, decode_file(_sign_raw(platform, signer, [wrong])))
    entry_id, record = _capk("rsa")
    bad = make_entry(Op.ADD, entry_id, {**record, "checksum": "00" * 20})
    with pytest.raises(ContentError, match="check value"):
        verify_package(
            terminal, trusted, decode_file(_sign_raw(platform, signer, [bad], Kind.CAPK))
        )
    with pytest.raises(ContentError):  # and the platform does not sign it in the first place
        sign_package(
            platform,
            signer,
            terminal_id="10000001",
            kind=Kind.CAPK,
            version=1,
            base_version=0,
            created=CREATED,
            entries=[bad],
        )


def test_the_signer_names_a_key_not_its_bytes() -> None:
    assert Signer("SM2-SM3", "0" * 32) == Signer("SM2-SM3", "0" * 32)
    assert "data" not in repr(
        make_entry(
            Op.ADD, "pik", {"usage": "pin", "algorithm": "3des", "key": "AB" * 16, "kcv": "123456"}
        )
    )
    assert "AB" * 16 not in repr(make_entry(Op.ADD, "pik", {"key": "AB" * 16}))
