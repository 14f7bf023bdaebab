"""VERIFY (offline PIN, plaintext and enciphered) and INTERNAL AUTHENTICATE (DDA).

VERIFY ``00 20 00 80`` carries the 8-byte ISO 9564 format 2 block ``2L PIN F..``; ``00 20
00 88`` carries that block enciphered with the ICC public key after GET CHALLENGE (see
:mod:`zhifu.card.personalise`). A wrong PIN lowers the PIN try counter 9F17, saves it and
answers ``63Cx`` (x = tries left, ``63C0`` on the last one); with the counter at zero VERIFY
answers ``6983``; the right PIN restores the counter to its limit. Status words chosen where
the spec is silent: P1 other than ``00`` or P2 other than ``80``/``88`` -> ``6A86``; a
plaintext block that is not 8 bytes -> ``6700``; a block that is not format 2, an
enciphered block that does not decipher to ``7F ‖ block ‖ ICC UN`` -> ``6A80`` (the counter
is not touched); no offline PIN personalised -> ``6A88``; enciphered PIN without a fresh
GET CHALLENGE or without an ICC key -> ``6985``.

INTERNAL AUTHENTICATE ``00 88 00 00 Lc DDOL-data 00`` answers ``80 L SDAD`` (9F4B contents,
RSA format 05 or SM2 format 15) over an 8-byte random ICC dynamic number; DDOL data of the
wrong length (DDOL 9F49, default ``9F3704``) -> ``6700``; no ICC key -> ``6985``.

>>> pin_of(bytes.fromhex("241234FFFFFFFFFF"))
'1234'
>>> pin_of(bytes.fromhex("0412AC89ABCDEF67")) is None
True
"""

from __future__ import annotations

import hmac

from zhifu.card import personalise
from zhifu.card.apdu import CommandApdu, StatusWord, tries_left
from zhifu.card.icc.base import CardContext, CardStatus, selected_app
from zhifu.card.image.model import Application
from zhifu.codec import tlv
from zhifu.core.errors import ZhifuError
from zhifu.crypto.pinblock import decode_pinblock_iso_2

__all__ = ["internal_authenticate", "pin_of", "verify"]

DEFAULT_DDOL = bytes.fromhex("9F3704")


def pin_of(block: bytes) -> str | None:
    """The PIN of a format 2 block, or None when the block is not one."""
    try:
        return decode_pinblock_iso_2(block)
    except ZhifuError:
        return None


def verify(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """VERIFY offline PIN."""
    if cmd.p1 or cmd.p2 not in (0x80, 0x88):
        raise CardStatus(StatusWord.WRONG_P1P2)
    app = selected_app(ctx)
    if app.pin_block is None:
        raise CardStatus(StatusWord.REFERENCED_DATA_NOT_FOUND)
    if app.state.pin_tries == 0:
        raise CardStatus(StatusWord.AUTH_METHOD_BLOCKED)
    if cmd.p2 == 0x80:
        if len(cmd.data) != 8:
            raise CardStatus(StatusWord.WRONG_LENGTH)
        block = cmd.data
    else:
        block = _decipher(ctx, app, cmd.data)
    pin = pin_of(block)
    stored = pin_of(app.pin_block)
    if pin is None or stored is None:
        raise CardStatus(StatusWord.WRONG_DATA)
    session = ctx.session
    session.pin_performed = True
    if hmac.compare_digest(pin.encode(), stored.encode()):
        session.pin_failed = False
        if app.state.pin_tries != app.pin_try_limit:
            app.state.pin_tries = app.pin_try_limit
            ctx.commit()
        return b""
    session.pin_failed = True
    app.state.pin_tries -= 1
    ctx.commit()
    raise CardStatus(tries_left(app.state.pin_tries))


def _decipher(ctx: CardContext, app: Application, data: bytes) -> bytes:
    challenge, ctx.session.challenge = ctx.session.challenge, None
    if challenge is None:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    try:
        plain = personalise.decipher_pin(app, ctx.session.sm, data)
    except LookupError:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED) from None
    except ValueError:
        raise CardStatus(StatusWord.WRONG_DATA) from None
    if len(plain) < 17 or plain[0] != 0x7F or not hmac.compare_digest(plain[9:17], challenge):
        raise CardStatus(StatusWord.WRONG_DATA)
    return plain[1:9]


def internal_authenticate(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """INTERNAL AUTHENTICATE for DDA."""
    if cmd.p1 or cmd.p2:
        raise CardStatus(StatusWord.WRONG_P1P2)
    app = selected_app(ctx)
    ddol = app.internal(0x9F49) or DEFAULT_DDOL
    try:
        needed = sum(length for _, length in tlv.parse_dol(ddol))
    except ValueError:
        needed = 4
    if len(cmd.data) != needed:
        raise CardStatus(StatusWord.WRONG_LENGTH)
    sdad = personalise.sign_dda(app, ctx.session.sm, ctx.random.bytes(8), cmd.data)
    if sdad is None:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    ctx.session.dda_performed = True
    return tlv.Tlv(0x80, sdad).encode()
