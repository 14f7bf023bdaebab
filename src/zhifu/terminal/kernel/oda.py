"""Offline data authentication as the terminal runs it (EMV 4.3 Book 3 §10.3, Book 2).

Selection: the card's AIP (82 byte 1: SDA ``40``, DDA ``20``, CDA ``01``) against the terminal's
capabilities (9F33 byte 3: SDA ``80``, DDA ``40``, CDA ``08``): CDA when both can, else DDA,
else SDA, else none (*ODA not performed*). For CDA this step recovers the ICC key from the
certificates (*CDA failed* when it cannot); the signature comes with the cryptogram of the
first GENERATE AC and is checked there (:mod:`zhifu.card.oda.cda`,
:class:`~zhifu.terminal.chip.ChipSession`).

The static data are the records the AFL flags (byte 4 of each entry: how many records of the
entry, from the first): for SFIs 1–10 the contents of the record template (without 70 and its
length), for SFIs 11–30 the whole record, then the AIP when 9F4A lists 82. Keys and checks come
from :mod:`zhifu.card.oda` (RSA/SHA-1 and SM2/SM3); a CA key the terminal does not hold, a
certificate or signature that does not verify, or a missing object fails the method: *SDA
failed* or *DDA failed* (and *ICC data missing* when an object is absent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from zhifu.card.oda.base import OdaError
from zhifu.card.oda.ca import CaKey, find_capk
from zhifu.card.oda.keys import PublicKey
from zhifu.card.oda.methods import (
    recover_icc_public_key,
    recover_issuer_public_key,
    verify_dda,
    verify_fdda,
    verify_sda,
)
from zhifu.codec import tlv
from zhifu.terminal.kernel.bits import TvrBit
from zhifu.terminal.kernel.config import TerminalConfig

__all__ = ["OdaOutcome", "authenticate", "icc_key", "static_data", "verify_tap"]

InternalAuthenticate = Callable[[bytes], bytes | None]
"""Sends INTERNAL AUTHENTICATE with the DDOL data; the SDAD (9F4B) or None."""


@dataclass
class OdaOutcome:
    """Which method ran and the TVR bits it set (``performed`` sets the TSI bit)."""

    method: str = "none"
    tvr: list[TvrBit] = field(default_factory=list)
    performed: bool = False
    icc_key: PublicKey | None = None  # CDA: the key the GENERATE AC signature is checked with


def static_data(afl: bytes, records: Mapping[tuple[int, int], bytes]) -> bytes:
    """The records the AFL flags for offline data authentication, as the terminal hashes them."""
    out = bytearray()
    for i in range(0, len(afl) - 3, 4):
        sfi, first, count = afl[i] >> 3, afl[i + 1], afl[i + 3]
        for number in range(first, first + count):
            record = records.get((sfi, number), b"")
            if sfi <= 10 and record:
                out += tlv.decode(record)[0].value
            else:
                out += record
    return bytes(out)


def _choose(aip: bytes, term: TerminalConfig) -> str:
    card, ours = (aip[:1] or b"\x00")[0], term.capabilities[2]
    if card & 0x01 and ours & 0x08:
        return "cda"
    if card & 0x20 and ours & 0x40:
        return "dda"
    if card & 0x40 and ours & 0x80:
        return "sda"
    return "none"


def authenticate(
    card: Mapping[int, bytes],
    static: bytes,
    pan: str,
    *,
    term: TerminalConfig,
    capks: Iterable[CaKey],
    internal_authenticate: InternalAuthenticate,
    values: Mapping[int, bytes],
    today: date,
) -> OdaOutcome:
    """Run SDA or DDA (see the module docstring); never raises for a card's failure."""
    aip = card.get(0x82, b"\x00\x00")
    method = _choose(aip, term)
    out = OdaOutcome(method)
    if method == "none":
        out.tvr.append(TvrBit.ODA_NOT_PERFORMED)
        return out
    out.performed = True
    if method == "cda":  # the certificates now, the signature with the cryptogram
        out.icc_key = icc_key(card, static, pan, capks=capks, today=today)
        if out.icc_key is None:
            out.tvr.append(TvrBit.CDA_FAILED)
        return out
    failed = TvrBit.SDA_FAILED if method == "sda" else TvrBit.DDA_FAILED
    if method == "sda":
        out.tvr.append(TvrBit.SDA_SELECTED)
    with_aip = aip if card.get(0x9F4A, b"") == b"\x82" else None
    needed = (0x8F, 0x90, 0x9F32) + ((0x93,) if method == "sda" else (0x9F46, 0x9F47))
    if any(tag not in card for tag in needed):
        out.tvr += [TvrBit.ICC_DATA_MISSING, failed]
        return out
    try:
        ca = find_capk(capks, card.get(0x4F, card.get(0x84, b"")), card[0x8F][0])
        issuer = recover_issuer_public_key(
            ca, card[0x90], card.get(0x92, b""), card[0x9F32], pan, today=today
        )
        if method == "sda":
            verify_sda(issuer, card[0x93], static, with_aip)
            return out
        icc = recover_icc_public_key(
            issuer, card[0x9F46], card.get(0x9F48, b""), card[0x9F47], static, with_aip, pan,
            today=today,
        )  # fmt: skip
        ddol = tlv.build_dol_data(card.get(0x9F49, bytes.fromhex("9F3704")), values)
        sdad = internal_authenticate(ddol)
        if sdad is None:
            raise OdaError("sdad", "INTERNAL AUTHENTICATE", "the card refused it")
        verify_dda(icc, sdad, ddol)
    except OdaError:
        out.tvr.append(failed)
    return out


def icc_key(
    card: Mapping[int, bytes], static: bytes, pan: str, *, capks: Iterable[CaKey], today: date
) -> PublicKey | None:
    """The ICC public key from the card's certificates (the CA key of 8F, the issuer key of 90,
    the ICC key of 9F46), or None when any of it is missing or does not verify. It is also the
    key an enciphered offline PIN is enciphered with (this card has no separate 9F2D key)."""
    if any(tag not in card for tag in (0x8F, 0x90, 0x9F32, 0x9F46, 0x9F47)):
        return None
    aip = card.get(0x82, b"\x00\x00")
    with_aip = aip if card.get(0x9F4A, b"") == b"\x82" else None
    try:
        ca = find_capk(capks, card.get(0x4F, card.get(0x84, b"")), card[0x8F][0])
        issuer = recover_issuer_public_key(
            ca, card[0x90], card.get(0x92, b""), card[0x9F32], pan, today=today
        )
        return recover_icc_public_key(
            issuer, card[0x9F46], card.get(0x9F48, b""), card[0x9F47], static, with_aip, pan,
            today=today,
        )  # fmt: skip
    except OdaError:
        return None


def verify_tap(
    card: Mapping[int, bytes],
    static: bytes,
    pan: str,
    *,
    capks: Iterable[CaKey],
    values: Mapping[int, bytes],
    today: date,
) -> bool:
    """fDDA of a qPBOC tap approved offline: the ICC key (:func:`icc_key`), then the card's
    signature 9F4B over 9F37, 9F02, 5F2A and 9F69 (the card data of the GPO answer). False,
    never an exception, when anything fails or is missing."""
    if any(tag not in card for tag in (0x9F4B, 0x9F69)) or any(
        tag not in values for tag in (0x9F37, 0x9F02, 0x5F2A)
    ):
        return False
    icc = icc_key(card, static, pan, capks=capks, today=today)
    if icc is None:
        return False
    try:
        verify_fdda(
            icc, card[0x9F4B], terminal_un=values[0x9F37], amount=values[0x9F02],
            currency=values[0x5F2A], card_auth_data_9f69=card[0x9F69],
        )  # fmt: skip
    except OdaError:
        return False
    return True
