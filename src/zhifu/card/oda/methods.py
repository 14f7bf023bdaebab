"""Offline data authentication (SDA, DDA, fDDA) for the emulated PBOC card and the terminal.

Card / issuing side: a test certification authority (:func:`create_test_ca`,
:func:`builtin_test_ca`), issuer and ICC certificates (:func:`issue_issuer_certificate`,
:func:`issue_icc_certificate`), tag 93 (:func:`sign_static_data`) and tag 9F4B
(:func:`sign_dynamic_data`, :func:`sign_fdda`). Terminal side: the CAPK table
(:meth:`CaKey.capk_record`, :func:`find_capk`), :func:`recover_issuer_public_key`,
:func:`recover_icc_public_key`, :func:`verify_sda`, :func:`verify_dda`, :func:`verify_fdda`.

Both families: RSA + SHA-1 (EMV 4.3 Book 2, :mod:`zhifu.card.oda.rsa`) and SM2 + SM3 (PBOC
JR/T 0025.17, :mod:`zhifu.card.oda.sm2`); the key objects say which. Failures raise
:class:`OdaError` naming the failed check; messages show at most a 6+4 masked PAN.

Static data to be authenticated is passed as the bytes the terminal hashes (records flagged
by the AFL, built by the caller) and ``aip`` (82) is appended when given (9F4A = ``82``);
pass ``aip=None`` when 9F4A is absent.

>>> from datetime import date
>>> ca = builtin_test_ca("rsa")
>>> issuer = issue_issuer_certificate(ca, "622800", "1230", "rsa", seed=1)
>>> records = bytes.fromhex("5A0862280001000011175F24033012319F08020030")  # flagged records
>>> aip = bytes.fromhex("7C00")
>>> icc = issue_icc_certificate(issuer, "6228000100001117", "1230", records, "rsa", aip=aip,
...     seed=2)
>>> day = date(2026, 11, 25)
>>> issuer_pk = recover_issuer_public_key(ca.capk_record(), issuer.cert_90, issuer.remainder_92,
...     issuer.exponent_9f32, "6228000100001117", today=day)
>>> verify_sda(issuer_pk, sign_static_data(issuer, records, aip=aip), records, aip).hex()
'dac1'
>>> icc_pk = recover_icc_public_key(issuer_pk, icc.cert_9f46, icc.remainder_9f48,
...     icc.exponent_9f47, records, aip, "6228000100001117", today=day)
>>> ddol_data = bytes.fromhex("12345678")
>>> sdad = sign_dynamic_data(icc, icc_dynamic_data(bytes(8)), ddol_data)
>>> verify_dda(icc_pk, sdad, ddol_data).hex()
'080000000000000000'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from zhifu.card.oda import rsa as oda_rsa
from zhifu.card.oda import sm2 as oda_sm2
from zhifu.card.oda.base import OdaError, pan_digits, today_or_now
from zhifu.card.oda.ca import UNIONPAY_RID, CaKey, builtin_test_ca, create_test_ca, find_capk
from zhifu.card.oda.keys import (
    IccKey,
    IssuerKey,
    PrivateKey,
    PublicKey,
    check_alg,
    generate_key,
    random_bytes,
)
from zhifu.core.errors import UsageError
from zhifu.crypto.rsa import RsaPrivateKey
from zhifu.crypto.sm2 import Sm2PrivateKey, Sm2PublicKey

__all__ = [
    "UNIONPAY_RID",
    "CaKey",
    "IccKey",
    "IssuerKey",
    "OdaError",
    "PublicKey",
    "builtin_test_ca",
    "create_test_ca",
    "fdda_terminal_data",
    "find_capk",
    "icc_dynamic_data",
    "issue_icc_certificate",
    "issue_issuer_certificate",
    "recover_icc_public_key",
    "recover_issuer_public_key",
    "sign_dynamic_data",
    "sign_fdda",
    "sign_static_data",
    "verify_dda",
    "verify_fdda",
    "verify_sda",
]


def _serial(serial: bytes | int | None, seed: int | None, label: str) -> bytes:
    if serial is None:
        return random_bytes(3, seed, label)
    if isinstance(serial, int):
        if not 0 <= serial < 1 << 24:
            raise UsageError("the serial number is 3 bytes", argument="serial")
        return serial.to_bytes(3, "big")
    return bytes(serial)


def _signer(owner: CaKey | IssuerKey, alg: str, argument: str) -> PrivateKey:
    if check_alg(alg) != owner.alg:
        raise UsageError(f"a {owner.alg} key cannot certify an {alg} key", argument="alg")
    if owner.private_key is None:
        raise UsageError("the signing key has no private part", argument=argument)
    return owner.private_key


def _certify(
    signer: PrivateKey,
    subject: PrivateKey,
    fields: tuple[str, str, bytes],
    static_data: bytes | None = None,
) -> tuple[bytes, bytes, bytes]:
    """Issuer (no static data) or ICC certificate: RSA (cert, remainder, exponent), SM2 (cert)."""
    if isinstance(signer, RsaPrivateKey) and isinstance(subject, RsaPrivateKey):
        if static_data is None:
            return oda_rsa.sign_issuer_certificate(signer, subject.public_key, *fields)
        return oda_rsa.sign_icc_certificate(
            signer, subject.public_key, *fields, static_data=static_data
        )
    if isinstance(signer, Sm2PrivateKey) and isinstance(subject, Sm2PrivateKey):
        if static_data is None:
            cert = oda_sm2.sign_issuer_certificate(signer, subject.public_key, *fields)
        else:
            cert = oda_sm2.sign_icc_certificate(
                signer, subject.public_key, *fields, static_data=static_data
            )
        return cert, b"", b""
    raise UsageError("the signer and the new key are of different algorithms", argument="alg")


def issue_issuer_certificate(
    ca: CaKey,
    issuer_id_digits: str,
    expiry_mmyy: str,
    alg: str,
    *,
    serial: bytes | int | None = None,
    bits: int = 1024,
    exponent: int = 3,
    seed: int | None = None,
) -> IssuerKey:
    """A new issuer key certified by ``ca`` (RSA: NI <= NCA; a remainder when NI > NCA - 36)."""
    signer = _signer(ca, alg, "ca")
    label = f"issuer|{alg}|{issuer_id_digits}|{bits}"
    key = generate_key(alg, bits, exponent, seed=seed, label=label)
    serial_bytes = _serial(serial, seed, label)
    cert, remainder, exp = _certify(signer, key, (issuer_id_digits, expiry_mmyy, serial_bytes))
    return IssuerKey(
        ca.alg,
        key,
        ca.rid,
        ca.index,
        issuer_id_digits,
        expiry_mmyy,
        serial_bytes,
        cert,
        remainder,
        exp,
    )


def _with_aip(static_data: bytes, aip: bytes | None) -> bytes:
    if aip is None:
        return bytes(static_data)
    if len(aip) != 2:
        raise UsageError(f"the AIP is 2 bytes, not {len(aip)}", argument="aip")
    return bytes(static_data) + bytes(aip)


def issue_icc_certificate(
    issuer: IssuerKey,
    pan: str | bytes,
    expiry_mmyy: str,
    static_data: bytes,
    alg: str,
    *,
    aip: bytes | None,
    serial: bytes | int | None = None,
    bits: int | None = None,
    exponent: int = 65537,
    seed: int | None = None,
) -> IccKey:
    """A new ICC key certified by ``issuer`` over the static data (‖ AIP when given).

    ``bits`` defaults to the issuer key length (RSA requires NIC <= NI).
    """
    signer = _signer(issuer, alg, "issuer")
    digits = pan_digits(pan)
    size = (
        bits
        if bits is not None
        else (signer.size * 8 if isinstance(signer, RsaPrivateKey) else 256)
    )
    label = f"icc|{alg}|{digits}|{size}"
    key = generate_key(alg, size, exponent, seed=seed, label=label)
    serial_bytes = _serial(serial, seed, label)
    data = _with_aip(static_data, aip)
    cert, remainder, exp = _certify(signer, key, (digits, expiry_mmyy, serial_bytes), data)
    return IccKey(issuer.alg, key, digits, expiry_mmyy, serial_bytes, cert, remainder, exp)


# ------------------------------------------------------------------------ card-side signing


def sign_static_data(
    issuer: IssuerKey, static_data: bytes, dac: bytes = b"\xda\xc1", *, aip: bytes | None
) -> bytes:
    """Tag 93 for SDA: RSA format 03 (EMV Book 2 5.4) or SM2 format 13; ``dac`` is 9F45."""
    data = _with_aip(static_data, aip)
    if isinstance(issuer.private_key, Sm2PrivateKey):
        return oda_sm2.sign_static(issuer.private_key, data, dac)
    return oda_rsa.sign_static(issuer.private_key, data, dac)


def icc_dynamic_data(icc_dynamic_number: bytes) -> bytes:
    """ICC dynamic data for DDA: length ‖ ICC dynamic number (9F4C, 2 to 8 bytes)."""
    if not 2 <= len(icc_dynamic_number) <= 8:
        raise UsageError("the ICC dynamic number is 2 to 8 bytes", argument="icc_dynamic_number")
    return bytes([len(icc_dynamic_number)]) + bytes(icc_dynamic_number)


def sign_dynamic_data(icc: IccKey, icc_dynamic_data: bytes, terminal_data: bytes) -> bytes:
    """Tag 9F4B: RSA format 05 with SHA-1 (EMV Book 2 6.5), or SM2 format 15 [?].

    ``terminal_data`` is the DDOL data (INTERNAL AUTHENTICATE command data).
    """
    if isinstance(icc.private_key, Sm2PrivateKey):
        return oda_sm2.sign_dynamic(icc.private_key, icc_dynamic_data, terminal_data)
    return oda_rsa.sign_dynamic(icc.private_key, icc_dynamic_data, terminal_data)


def fdda_terminal_data(
    terminal_un: bytes, amount: bytes, currency: bytes, card_auth_data_9f69: bytes
) -> bytes:
    """fDDA version 01 signed terminal data: 9F37 ‖ 9F02 ‖ 5F2A ‖ 9F69
    (docs/standards/card-terminal.md §1.6)."""
    for value, size, name in (
        (terminal_un, 4, "terminal_un"),
        (amount, 6, "amount"),
        (currency, 2, "currency"),
    ):
        if len(value) != size:
            raise UsageError(f"must be {size} bytes, not {len(value)}", argument=name)
    if len(card_auth_data_9f69) < 7 or card_auth_data_9f69[0] != 0x01:
        raise UsageError(
            "9F69 is fDDA version 01 ‖ card UN (4) ‖ CTQ (2)", argument="card_auth_data_9f69"
        )
    return bytes(terminal_un) + bytes(amount) + bytes(currency) + bytes(card_auth_data_9f69)


def sign_fdda(
    icc: IccKey, terminal_un: bytes, amount: bytes, currency: bytes, card_auth_data_9f69: bytes
) -> bytes:
    """qPBOC fDDA version 01 9F4B; ICC dynamic data = ``04`` ‖ card UN from 9F69 [?]."""
    terminal_data = fdda_terminal_data(terminal_un, amount, currency, card_auth_data_9f69)
    return sign_dynamic_data(icc, icc_dynamic_data(card_auth_data_9f69[1:5]), terminal_data)


# ----------------------------------------------------------------------- terminal side


def recover_issuer_public_key(
    ca: CaKey | Mapping[str, object],
    cert_90: bytes,
    remainder_92: bytes,
    exponent_9f32: bytes,
    pan: str | bytes,
    *,
    today: date | None = None,
    ca_index_8f: int | None = None,
) -> PublicKey:
    """EMV Book 2 5.3 (or its SM2 form): check tag 90 and return the issuer public key.

    ``ca`` is a :class:`CaKey` or a CAPK record (its check value is verified); when
    ``ca_index_8f`` (the card's 8F) is given it must name that key. ``today`` defaults to
    the current date in Asia/Shanghai.
    """
    key = ca if isinstance(ca, CaKey) else CaKey.from_capk_record(ca)
    if ca_index_8f is not None and ca_index_8f != key.index:
        raise OdaError(
            "ca_index", f"CA public key {key.index:02X}", f"the card names {ca_index_8f:02X}"
        )
    day = today_or_now(today)
    if isinstance(key.public_key, Sm2PublicKey):
        return oda_sm2.recover_issuer_key(key.public_key, cert_90, pan, day)
    return oda_rsa.recover_issuer_key(
        key.public_key, cert_90, remainder_92, exponent_9f32, pan=pan, today=day
    )


def recover_icc_public_key(  # noqa: PLR0917 - positional order fixed for the card/terminal
    issuer_pk: PublicKey,
    cert_9f46: bytes,
    remainder_9f48: bytes,
    exponent_9f47: bytes,
    static_data: bytes,
    aip: bytes | None,
    pan: str | bytes,
    *,
    today: date | None = None,
) -> PublicKey:
    """EMV Book 2 6.4 (or its SM2 form): check 9F46 and return the ICC public key."""
    data, day = _with_aip(static_data, aip), today_or_now(today)
    if isinstance(issuer_pk, Sm2PublicKey):
        return oda_sm2.recover_icc_key(issuer_pk, cert_9f46, data, pan, day)
    return oda_rsa.recover_icc_key(
        issuer_pk, cert_9f46, remainder_9f48, exponent_9f47, static_data=data, pan=pan, today=day
    )


def verify_sda(
    issuer_pk: PublicKey, ssad_93: bytes, static_data: bytes, aip: bytes | None
) -> bytes:
    """EMV Book 2 5.4 (or SM2 format 13): check tag 93; returns the DAC (9F45)."""
    data = _with_aip(static_data, aip)
    if isinstance(issuer_pk, Sm2PublicKey):
        return oda_sm2.verify_static(issuer_pk, ssad_93, data)
    return oda_rsa.verify_static(issuer_pk, ssad_93, data)


def verify_dda(icc_pk: PublicKey, sdad_9f4b: bytes, terminal_data: bytes) -> bytes:
    """EMV Book 2 6.5.2 (or SM2 format 15): check 9F4B; returns the ICC dynamic data."""
    if isinstance(icc_pk, Sm2PublicKey):
        return oda_sm2.verify_dynamic(icc_pk, sdad_9f4b, terminal_data)
    return oda_rsa.verify_dynamic(icc_pk, sdad_9f4b, terminal_data)


def verify_fdda(
    icc_pk: PublicKey,
    sdad_9f4b: bytes,
    *,
    terminal_un: bytes,
    amount: bytes,
    currency: bytes,
    card_auth_data_9f69: bytes,
) -> bytes:
    """Check a qPBOC fDDA 9F4B; the dynamic number must be the card UN of 9F69 [?]."""
    terminal_data = fdda_terminal_data(terminal_un, amount, currency, card_auth_data_9f69)
    dynamic = verify_dda(icc_pk, sdad_9f4b, terminal_data)
    if dynamic != icc_dynamic_data(card_auth_data_9f69[1:5]):
        raise OdaError("card_un", "fDDA signed dynamic application data")
    return dynamic
