"""Issuer script commands with secure messaging (integrity MAC; PIN data also enciphered).

Commands (CLA ``04`` or ``84``): PUT DATA ``DA`` (tag in P1 P2), UPDATE RECORD ``DC``,
APPLICATION BLOCK ``1E``, APPLICATION UNBLOCK ``18``, CARD BLOCK ``16``, PIN CHANGE/UNBLOCK
``24`` (P2 ``00`` unblock: reset the try counter; ``01`` change: new PIN block enciphered
under SK_SMC with :func:`zhifu.crypto.emv.encrypt_script_data`, PBOC format).

Every command ends with a 4-byte MAC (docs/standards/card-terminal.md §1.5 / 2.5): PBOC MAC over
``CLA INS
P1 P2 Lc ‖ ATC ‖ ARQC ‖ data`` under SK_SMI (MK-SMI and the transaction's ATC), 3DES or SM4
as chosen at GPO. Scripts are accepted only after the card returned an ARQC in this
session (their MAC binds that ATC and ARQC), else ``6985``. A wrong MAC answers ``6988`` and
changes nothing but the CVR's "script failed" fact for the next transaction.

PUT DATA 9F79 is the e-cash load (圈存): the value is the new balance (the **total**), which
may not exceed the balance limit 9F77; a higher total is refused with ``6A80`` (zhifu's
choice: the data field is wrong; nothing changes). A load writes a load-log record (SFI of
DF4D): P1 P2 ‖ balance before ‖ balance after ‖ DF4F data. PUT DATA of another object
replaces a personalised GET DATA object of the same length (9F77, 9F78, 9F6D, ...; ``6A88``
for others, ``6700`` for another length, ``6A80`` for an n12 value that is not BCD).

>>> sorted(f"{ins:02X}" for ins in SCRIPT_COMMANDS)
['16', '18', '1E', '24', 'DA', 'DC']
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from zhifu.card.apdu import CommandApdu, StatusWord
from zhifu.card.icc.base import (
    CardContext,
    CardStatus,
    cipher_of,
    has_ecash,
    selected_app,
    session_key,
    write_log,
)
from zhifu.card.icc.pin import pin_of
from zhifu.card.image.model import Application, n12, n12_value
from zhifu.codec import tlv
from zhifu.core.errors import ZhifuError
from zhifu.crypto import emv

__all__ = ["SCRIPT_COMMANDS", "issuer_script"]

MAC_LENGTH = 4
N12_TAGS = frozenset({0x9F77, 0x9F78, 0x9F6D, 0x9F6B, 0x9F5D, 0xDF62, 0xDF63})
Handler = Callable[[CardContext, Application, CommandApdu, bytes], None]


def issuer_script(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """Check the MAC, run the command, count it for the CVR of the next transaction."""
    app = selected_app(ctx)
    session = ctx.session
    if session.arqc is None or session.path in (None, "qpboc"):
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    if len(cmd.data) < MAC_LENGTH:
        raise CardStatus(StatusWord.WRONG_LENGTH)
    body, mac = cmd.data[:-MAC_LENGTH], cmd.data[-MAC_LENGTH:]
    header = bytes([cmd.cla, cmd.ins, cmd.p1, cmd.p2, len(cmd.data)])
    expected = emv.generate_script_mac(
        cipher_of(ctx),
        session_key(ctx, "mk_smi"),
        header,
        atc=app.state.atc.to_bytes(2, "big"),
        arqc=session.arqc,
        data=body,
        length=MAC_LENGTH,
    )
    app.state.last_scripts += 1
    try:
        if not hmac.compare_digest(expected, mac):
            raise CardStatus(StatusWord.SM_DATA_INCORRECT)
        SCRIPT_COMMANDS[cmd.ins](ctx, app, cmd, body)
    except CardStatus:
        app.state.last_script_failed = True
        ctx.commit()
        raise
    ctx.commit()
    return b""


def _put_data(ctx: CardContext, app: Application, cmd: CommandApdu, body: bytes) -> None:
    tag = cmd.p1 << 8 | cmd.p2 if cmd.p1 else cmd.p2
    if tag == 0x9F79:
        _load(ctx, app, cmd, body)
        return
    current = app.data.get(tag)
    if current is None or tag in (0x9F4F, 0xDF4F):
        raise CardStatus(StatusWord.REFERENCED_DATA_NOT_FOUND)
    if len(body) != len(current):
        raise CardStatus(StatusWord.WRONG_LENGTH)
    if tag in N12_TAGS and n12_value(body) is None:
        raise CardStatus(StatusWord.WRONG_DATA)
    app.data[tag] = body


def _load(ctx: CardContext, app: Application, cmd: CommandApdu, body: bytes) -> None:
    if not has_ecash(app):
        raise CardStatus(StatusWord.REFERENCED_DATA_NOT_FOUND)
    if len(body) != 6:
        raise CardStatus(StatusWord.WRONG_LENGTH)
    total = n12_value(body)
    limit = n12_value(app.data.get(0x9F77, b""))
    if total is None or (limit is not None and total > limit):
        raise CardStatus(StatusWord.WRONG_DATA)
    before = app.state.ec_balance
    app.state.ec_balance = total
    load = bytes([cmd.p1, cmd.p2]) + n12(before) + n12(total)
    write_log(app, ctx.session.values, load=load)


def _update_record(ctx: CardContext, app: Application, cmd: CommandApdu, body: bytes) -> None:
    if cmd.p1 == 0 or cmd.p2 & 0x07 != 0x04:
        raise CardStatus(StatusWord.WRONG_P1P2)
    key = (cmd.p2 >> 3, cmd.p1)
    if key not in app.records:
        known_sfi = any(sfi == key[0] for sfi, _ in app.records)
        raise CardStatus(StatusWord.RECORD_NOT_FOUND if known_sfi else StatusWord.FILE_NOT_FOUND)
    try:
        items = tlv.decode(body)
    except ValueError:
        raise CardStatus(StatusWord.WRONG_DATA) from None
    if len(items) != 1 or items[0].tag != 0x70 or body[0] != 0x70:
        raise CardStatus(StatusWord.WRONG_DATA)
    app.set_record(key, body)


def _no_body(cmd: CommandApdu, body: bytes) -> None:
    if cmd.p1 or cmd.p2:
        raise CardStatus(StatusWord.WRONG_P1P2)
    if body:
        raise CardStatus(StatusWord.WRONG_LENGTH)


def _application_block(ctx: CardContext, app: Application, cmd: CommandApdu, body: bytes) -> None:
    _no_body(cmd, body)
    app.state.blocked = True


def _application_unblock(ctx: CardContext, app: Application, cmd: CommandApdu, body: bytes) -> None:
    _no_body(cmd, body)
    app.state.blocked = False


def _card_block(ctx: CardContext, app: Application, cmd: CommandApdu, body: bytes) -> None:
    _no_body(cmd, body)
    ctx.image.card_blocked = True


def _pin_change(ctx: CardContext, app: Application, cmd: CommandApdu, body: bytes) -> None:
    if cmd.p1 or cmd.p2 not in (0x00, 0x01):
        raise CardStatus(StatusWord.WRONG_P1P2)
    if app.pin_block is None:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    if cmd.p2 == 0x00:
        if body:
            raise CardStatus(StatusWord.WRONG_LENGTH)
        app.state.pin_tries = app.pin_try_limit
        return
    try:
        block = emv.decrypt_script_data(cipher_of(ctx), session_key(ctx, "mk_smc"), body)
    except ZhifuError:
        raise CardStatus(StatusWord.WRONG_DATA) from None
    if len(block) != 8 or pin_of(block) is None:
        raise CardStatus(StatusWord.WRONG_DATA)
    app.pin_block = block
    app.state.pin_tries = app.pin_try_limit


SCRIPT_COMMANDS: dict[int, Handler] = {
    0xDA: _put_data,
    0xDC: _update_record,
    0x1E: _application_block,
    0x18: _application_unblock,
    0x16: _card_block,
    0x24: _pin_change,
}
