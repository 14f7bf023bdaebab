"""MAC scope of the UnionPay POS dialect (docs/standards/iso8583-cup.md §6.2) and which messages
carry one.

The MAC input block (MAB) is every byte from the MTI up to, but excluding, the 8 bytes of field
64: MTI + bitmap (bit 64 already set) + fields 2-63 as encoded on the wire. Length prefix,
TPDU and header are outside it.

The MAC itself is computed by a ``mac_fn(mab) -> 8 bytes`` the caller supplies, so that a host
computes it inside the security module (:func:`hsm_mac_fn`) and a terminal with its own MAK,
e.g. ``lambda mab: zhifu.crypto.mac.mac_cup_ecb(Cipher.DES, mak, mab)`` for the POS "ECB" MAC
(whose 8 bytes are 8 ASCII hex characters) or ``mac_x9_19``.

>>> from zhifu.iso8583.message import Message
>>> msg = Message("0200", {"3": "000000", "4": "000000000001"})
>>> fake_mac = lambda mab: mab[-8:]          # stands in for a real MAC function
>>> signed = sign(msg, fake_mac)
>>> signed.hex().upper()
'020030000000000000010000000000000000010000000000000001'
>>> verify(signed, fake_mac)
True
>>> carries_mac("0810"), carries_mac("0210"), carries_mac("0330")
(False, True, None)
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Final

from zhifu.core.errors import DecodeError, EncodeError
from zhifu.iso8583.codec import encode
from zhifu.iso8583.message import Message
from zhifu.iso8583.profiles import Profile
from zhifu.security.hsm.base import HandleLike
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.security.hsm.soft import SoftHsm

__all__ = [
    "MAC_MESSAGES",
    "MAC_SIZE",
    "MacFn",
    "carries_mac",
    "hsm_mac_fn",
    "mac_block",
    "mac_of",
    "sign",
    "sign_message",
    "verify",
]

MacFn = Callable[[bytes], bytes]
MAC_SIZE: Final = 8

MAC_MESSAGES: Final[dict[str, bool | None]] = {
    **dict.fromkeys(("0100", "0110", "0200", "0210", "0220", "0230"), True),
    **dict.fromkeys(("0400", "0410", "0420", "0430", "0620", "0630"), True),
    **dict.fromkeys(("0500", "0510", "0800", "0810", "0820", "0830"), False),
    **dict.fromkeys(("0320", "0330"), None),
}
"""MTI -> whether field 64 is carried: True (financial requests and responses), False
(management: CJ skips MAC generation for 0810/0830/0510/0330, WP sends sign-on and settlement
without one), None (batch upload: sources disagree; the acquirer decides). A host may omit
field 64 in a declined 0210 (GO ``log.txt``, 39 = 94)."""

_BIT_64 = 0x01


def carries_mac(mti: str) -> bool | None:
    """True, False, or None (acquirer's choice) for a message type; None for unknown MTIs."""
    return MAC_MESSAGES.get(mti)


def mac_block(message: bytes) -> bytes:
    """The MAB of an encoded message (from the MTI on) whose bitmap has field 64."""
    data = bytes(message)
    if len(data) < 10 + MAC_SIZE:
        raise DecodeError("too short to carry field 64", field="64", offset=0)
    if not data[9] & _BIT_64:
        raise DecodeError("the bitmap does not mark field 64", field="bitmap", offset=2)
    return data[:-MAC_SIZE]


def _checked(mac: bytes) -> bytes:
    if not isinstance(mac, bytes | bytearray) or len(mac) < MAC_SIZE:
        raise EncodeError("the MAC function must return at least 8 bytes", field="64")
    return bytes(mac[:MAC_SIZE])


def sign(message: Message, mac_fn: MacFn, profile: str | Profile | None = None) -> bytes:
    """Encode ``message`` with field 64 set to the MAC of its MAB (the message is not changed)."""
    placeholder = message.replace({"64": "00" * MAC_SIZE})
    encoded = encode(placeholder, profile)
    return encoded[:-MAC_SIZE] + _checked(mac_fn(encoded[:-MAC_SIZE]))


def mac_of(message: Message, mac_fn: MacFn, profile: str | Profile | None = None) -> bytes:
    """The 8-byte MAC ``message`` would carry in field 64."""
    return sign(message, mac_fn, profile)[-MAC_SIZE:]


def sign_message(message: Message, mac_fn: MacFn, profile: str | Profile | None = None) -> Message:
    """A copy of ``message`` with field 64 holding its MAC (upper-case hex)."""
    return message.replace({"64": mac_of(message, mac_fn, profile).hex().upper()})


def verify(message: bytes, mac_fn: MacFn) -> bool:
    """True when field 64 of an encoded message is the MAC of its MAB (constant time)."""
    mab = mac_block(message)
    expected = _checked(mac_fn(mab))
    return hmac.compare_digest(expected, bytes(message)[-MAC_SIZE:])


def hsm_mac_fn(
    hsm: SoftHsm, handle: HandleLike, algorithm: MacAlgorithm = MacAlgorithm.CUP_ECB
) -> MacFn:
    """A MAC function computing inside the security module with a MAK held by handle."""

    def compute(mab: bytes) -> bytes:
        return hsm.generate_mac(handle, mab, algorithm)

    return compute
