"""SELECT, READ RECORD, GET DATA and GET CHALLENGE of the emulated card.

Status words: SELECT with P1 other than ``04`` (by name) or P2 other than ``00``/``02``
(first/next occurrence) -> ``6A86``; empty name -> ``6700``; unknown name -> ``6A82``;
blocked card -> ``6A81``; blocked application -> its FCI with ``6283``. Next occurrence
(P2 ``02``) goes on after the last file this session selected by the same name (from the
first when there is none) and answers ``6A82`` when no further one matches: at once for the
PSE and the PPSE (there is one of each), after the last matching AID for a partial name.
READ RECORD with P1 ``00`` or P2 not ``SFI<<3 | 4`` -> ``6A86``; unknown SFI -> ``6A82``;
missing record -> ``6A83``; nothing selected -> ``6985``. GET DATA of an unknown tag -> ``6A88``.

Interfaces: in ``auto`` mode (the default) SELECT PPSE switches the session to contactless
and SELECT PSE to contact; an application answers with the FCI of the session's interface
(DGI 9102 or 9103 of the reference card).

>>> PSE.hex().upper()
'315041592E5359532E4444463031'
"""

from __future__ import annotations

from zhifu.card.apdu import CommandApdu, StatusWord, wrong_le
from zhifu.card.icc.base import (
    CardContext,
    CardStatus,
    app_fci,
    has_ecash,
    log_entry,
    selected_app,
)
from zhifu.card.image.model import Application, n12
from zhifu.codec import tlv

__all__ = ["PPSE", "PSE", "get_challenge", "get_data", "read_record", "select"]

PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"


def _no_data(cmd: CommandApdu) -> None:
    if cmd.data:
        raise CardStatus(StatusWord.WRONG_LENGTH)


def select(ctx: CardContext, cmd: CommandApdu) -> tuple[bytes, int]:
    """SELECT by DF name (``00 A4 04 00|02``): PSE, PPSE or an application (partial AID)."""
    if cmd.p1 != 0x04 or cmd.p2 not in (0x00, 0x02):
        raise CardStatus(StatusWord.WRONG_P1P2)
    name = cmd.data
    if not name:
        raise CardStatus(StatusWord.WRONG_LENGTH)
    if ctx.image.card_blocked:
        raise CardStatus(StatusWord.FUNCTION_NOT_SUPPORTED)
    session = ctx.session
    start = 0
    if cmd.p2 == 0x02 and session.selection is not None and session.selection[0] == name:
        start = session.selection[1] + 1
    if name in (PSE, PPSE):
        if start:  # one directory of each name: there is no next occurrence
            raise CardStatus(StatusWord.FILE_NOT_FOUND)
        return _select_directory(ctx, "pse" if name == PSE else "ppse"), StatusWord.OK
    candidates = [
        app for app in ctx.image.applications if app.aid.startswith(name) and app_fci(ctx, app)
    ]
    if start >= len(candidates):
        raise CardStatus(StatusWord.FILE_NOT_FOUND)
    app = candidates[start]
    session.reset_transaction()
    session.app, session.directory, session.selection = app, None, (name, start)
    fci = app_fci(ctx, app) or b""
    status = StatusWord.SELECTED_FILE_INVALIDATED if app.state.blocked else StatusWord.OK
    return fci, status


def _select_directory(ctx: CardContext, which: str) -> bytes:
    session = ctx.session
    fci = ctx.image.pse_fci if which == "pse" else ctx.image.ppse_fci
    wanted = "contact" if which == "pse" else "contactless"
    if fci is None or (not ctx.session.auto_interface and session.interface != wanted):
        raise CardStatus(StatusWord.FILE_NOT_FOUND)
    session.reset_transaction()
    session.interface = "contact" if which == "pse" else "contactless"
    session.app, session.selection = None, (PSE if which == "pse" else PPSE, 0)
    session.directory = "pse" if which == "pse" else "ppse"
    return fci


def read_record(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """READ RECORD (``00 B2 rec SFI<<3|4``): application records, logs or PSE directory."""
    if cmd.p1 == 0 or cmd.p2 & 0x07 != 0x04 or cmd.p2 >> 3 == 0:
        raise CardStatus(StatusWord.WRONG_P1P2)
    _no_data(cmd)
    sfi, number = cmd.p2 >> 3, cmd.p1
    session = ctx.session
    if session.directory == "pse":
        return _pse_record(ctx, sfi, number)
    if session.directory == "ppse" or session.app is None:
        if session.app is None and session.directory is None:
            raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
        raise CardStatus(StatusWord.FILE_NOT_FOUND)
    app = session.app
    for entry_tag, log in ((0x9F4D, app.state.transaction_log), (0xDF4D, app.state.load_log)):
        entry = log_entry(app, entry_tag)
        if entry is not None and entry[0] == sfi:
            if number > min(len(log), entry[1]):
                raise CardStatus(StatusWord.RECORD_NOT_FOUND)
            return log[number - 1]
    record = app.records.get((sfi, number))
    if record is not None:
        return record
    if any(key[0] == sfi for key in app.records):
        raise CardStatus(StatusWord.RECORD_NOT_FOUND)
    raise CardStatus(StatusWord.FILE_NOT_FOUND)


def _pse_record(ctx: CardContext, sfi: int, number: int) -> bytes:
    fci = ctx.image.pse_fci or b""
    item = tlv.find(tlv.decode(fci), 0x88)
    directory_sfi = item.value[0] if item is not None and len(item.value) == 1 else 1
    if sfi != directory_sfi:
        raise CardStatus(StatusWord.FILE_NOT_FOUND)
    record = ctx.image.pse_records.get(number)
    if record is None:
        raise CardStatus(StatusWord.RECORD_NOT_FOUND)
    return record


def get_data(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """GET DATA (``80 CA P1 P2``): counters, e-cash values, log formats and other objects."""
    _no_data(cmd)
    app = selected_app(ctx)
    tag = cmd.p1 << 8 | cmd.p2 if cmd.p1 else cmd.p2
    value = _dynamic_value(app, tag)
    if value is None:
        value = app.data.get(tag)
    if value is None:
        raise CardStatus(StatusWord.REFERENCED_DATA_NOT_FOUND)
    return tlv.Tlv(tag, value).encode()


def _dynamic_value(app: Application, tag: int) -> bytes | None:
    state = app.state
    if tag == 0x9F36:
        return state.atc.to_bytes(2, "big")
    if tag == 0x9F13:
        return state.last_online_atc.to_bytes(2, "big")
    if tag == 0x9F17:
        return None if app.pin_block is None else bytes([state.pin_tries])
    if tag in (0x9F79, 0x9F5D) and has_ecash(app) and (tag == 0x9F79 or tag in app.data):
        return n12(state.ec_balance)
    return None


def get_challenge(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """GET CHALLENGE (``00 84 00 00 08``): 8 random bytes, kept for enciphered PIN."""
    if cmd.p1 or cmd.p2:
        raise CardStatus(StatusWord.WRONG_P1P2)
    _no_data(cmd)
    if cmd.le not in (None, 8, 256):
        raise CardStatus(wrong_le(8))
    ctx.session.challenge = ctx.random.bytes(8)
    return ctx.session.challenge
