"""What the issuer needs from a financial request: card data out of fields 2, 14, 23, 35
(deciphered under the TDK when 53.3 is ``1``) and 55, and the PIN block of field 52 translated
from the terminal's PIK to the zone PIN key — inside the security module.

A request whose card data cannot be read raises :class:`CardDataError` naming the field; the
host answers ``30`` (format error), or ``A7`` when the security module refused.
"""

from __future__ import annotations

from zhifu.acquirer.registry import Terminal
from zhifu.core.errors import DecodeError, ZhifuError
from zhifu.iso8583.fields_55 import parse_icc_data
from zhifu.iso8583.fields_pos import parse_security_control
from zhifu.iso8583.message import Message
from zhifu.iso8583.track_data import decipher_track
from zhifu.issuer.link import AuthorizationRequest, Kind, PinData
from zhifu.security.hsm.pin import PinBlockFormat
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle

__all__ = ["CardData", "CardDataError", "card_data", "pin_data"]


class CardDataError(ZhifuError):
    """The card data of a request cannot be read; ``field`` names where."""

    def __init__(self, message: str, field: str, *, security: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.security = security


class CardData:
    """PAN, expiry, PSN, service code and ICC data of one request (repr shows nothing)."""

    __slots__ = ("discretionary", "expiry", "icc", "pan", "psn", "service_code")

    def __init__(self, pan: str, expiry: str | None, psn: str | None, service_code: str | None,
                 icc: dict[int, bytes], *, discretionary: str = "") -> None:  # fmt: skip
        self.pan, self.expiry, self.psn = pan, expiry, psn
        self.service_code, self.icc, self.discretionary = service_code, icc, discretionary

    def __repr__(self) -> str:
        return "CardData(<masked>)"


def _track(request: Message, hsm: SoftHsm, terminal: Terminal) -> str | None:
    nibbles = request.get("35")
    if nibbles is None:
        return None
    control = parse_security_control(request.get("53") or "0" * 16)
    if control.track_encryption != "1":
        return nibbles
    keys = terminal.working_keys
    if keys is None or keys.tdk is None:
        raise CardDataError("track data enciphered but the terminal has no TDK", "35")
    info = hsm.key_info(keys.tdk)
    size = 16 if info.algorithm is KeyAlgorithm.SM4 else 8
    tdk = keys.tdk
    try:
        return decipher_track(nibbles, size, lambda block: hsm.decrypt_data(tdk, block))
    except ZhifuError as exc:
        raise CardDataError(f"track data: {type(exc).__name__}", "35", security=True) from None


def card_data(request: Message, hsm: SoftHsm, terminal: Terminal) -> CardData:
    """The card data of ``request`` (see the module text)."""
    track = _track(request, hsm, terminal)
    pan, expiry, service, discretionary = request.get("2"), request.get("14"), None, ""
    if track is not None:
        head, sep, rest = track.upper().partition("D")
        if not sep or not head.isdigit() or len(rest) < 7 or not rest[:7].isdigit():
            raise CardDataError("track 2 has no PAN, expiry and service code", "35")
        pan = pan or head
        if pan != head:
            raise CardDataError("field 2 and track 2 name different cards", "35")
        expiry, service, discretionary = expiry or rest[:4], rest[4:7], rest[7:]
    if not pan:
        raise CardDataError("neither field 2 nor track 2 gives the card number", "2")
    psn = request.get("23")
    icc: dict[int, bytes] = {}
    if "55" in request:
        try:
            icc = {item.tag: item.value for item in parse_icc_data(request["55"])}
        except DecodeError:
            raise CardDataError("field 55 is not BER-TLV", "55") from None
    return CardData(
        pan, expiry, psn[-2:] if psn else None, service, icc, discretionary=discretionary
    )


def pin_data(request: Message, hsm: SoftHsm, terminal: Terminal, pan: str,
             zpk: KeyHandle) -> PinData | None:  # fmt: skip
    """Field 52 translated from the terminal's PIK to the zone PIN key, or None without one."""
    block = request.get("52")
    if block is None:
        return None
    keys = terminal.working_keys
    if keys is None:
        raise CardDataError("a PIN block but the terminal is not signed on", "52")
    control = parse_security_control(request.get("53") or "2600000000000000")
    if control.pin_format not in ("2", "0"):
        raise CardDataError("only PIN blocks with the PAN (53.1 = 2) are accepted", "53")
    try:
        translated = hsm.translate_pin_block(
            bytes.fromhex(block), source_key=keys.pik, source_format=PinBlockFormat.ISO_0,
            target_key=zpk, target_format=PinBlockFormat.ISO_0, pan=pan,
        )  # fmt: skip
    except (ZhifuError, ValueError) as exc:
        raise CardDataError(f"PIN block: {type(exc).__name__}", "52", security=True) from None
    return PinData(translated.reveal(), zpk)


def authorization_request(
    kind: Kind, txn_id: str, request: Message, card: CardData, *, pin: PinData | None,
    original_id: str | None,
) -> AuthorizationRequest:  # fmt: skip
    """The issuer's request for a financial message."""
    return AuthorizationRequest(
        kind, txn_id, card.pan, int(request.get("4") or "0"), request.get("49") or "156",
        expiry=card.expiry, psn=card.psn, service_code=card.service_code,
        pos_entry_mode=request.get("22") or "", icc=card.icc, pin=pin, original_id=original_id,
        original_auth_code=request.get("38"), merchant_id=request.get("42") or "",
        terminal_id=request.get("41") or "", rrn=request.get("37") or "",
        discretionary=card.discretionary,
    )  # fmt: skip
