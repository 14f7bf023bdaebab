"""GENERATE AC (first and second) and EXTERNAL AUTHENTICATE: the card's risk decisions.

Answers are format 1: ``80 L CID(9F27) ATC(9F36) AC(9F26, 8) IAD(9F10)``. The cryptogram is
computed over the PBOC CVN 01 input assembled by tag from the CDOL (and PDOL) values
(docs/standards/card-terminal.md §2.3) under the AC session key of the current ATC (set at GPO).

Sequencing: GENERATE AC before GPO, after a qPBOC GPO, after a TC/AAC or a third time ->
``6985``; P2 other than ``00`` or P1 type ``C0`` -> ``6A86``; P1 ``ARQC`` in the second
GENERATE AC -> ``6A86``; CDOL data of the wrong length -> ``6700``. With the CDA bit (``10``)
and an AIP offering CDA, a TC or ARQC answer is format 2 with the signature 9F4B
(:mod:`zhifu.card.oda.cda`); an AAC stays format 1.

First GENERATE AC (terminal asks AAC / TC / ARQC; the card may only lower it):

1. blocked application, or AAC asked -> AAC; ARQC asked -> ARQC.
2. TC asked on the EC path: TC when the amount fits the balance 9F79 and the single limit
   9F78 (the balance is debited and saved with the ATC), else ARQC (AAC when the
   application has no DC path).
3. TC asked on the DC path: ARQC when the path is online-only (pure e-cash), offline PIN
   failed in this transaction, the PIN try limit is exceeded, the last online transaction
   did not complete, issuer authentication failed last time, or the consecutive offline
   count reached LCOL 9F14; else TC (the offline count grows).

Second GENERATE AC (CDOL2 starts with the ARC 8A): AAC when AAC is asked or the
application was blocked by a script; ARC ``00``/``10``/``11`` (approved) -> TC unless
issuer authentication failed; ``Y3`` (unable to go online, approve) -> TC while the
offline count is below UCOL 9F23, else AAC; ``Z3`` and every other ARC -> AAC. A tag 91
in CDOL2 is checked like EXTERNAL AUTHENTICATE when that command was not sent.

EXTERNAL AUTHENTICATE (``00 82 00 00 0A ARPC ARC``): only between an ARQC and the second
GENERATE AC, once; ARPC method 1 under the AC session key; success sets 9F13 to the ATC and
answers ``9000``, failure is remembered (CVR) and answers ``6300``.

>>> format1(b"\\x80", bytes.fromhex("0001"), bytes(8), bytes(3)).hex().upper()
'800E8000010000000000000000000000'
"""

from __future__ import annotations

import hmac

from zhifu.card import personalise
from zhifu.card.apdu import CommandApdu, StatusWord
from zhifu.card.icc.base import (
    CID,
    AcType,
    CardContext,
    CardStatus,
    amount_of,
    build_iad,
    cipher_of,
    cvr_bytes,
    cvr_flags,
    dol_values,
    generate_cryptogram,
    selected_app,
    session_key,
    write_log,
)
from zhifu.card.image.model import Application, n12_value
from zhifu.card.oda import cda as combined
from zhifu.codec import tlv
from zhifu.crypto import emv

__all__ = [
    "ARC_APPROVED",
    "ARC_UNABLE_APPROVE",
    "ARC_UNABLE_DECLINE",
    "external_authenticate",
    "format1",
    "generate_ac",
]

_REQUESTED: dict[int, AcType] = {0x00: "AAC", 0x40: "TC", 0x80: "ARQC"}
# Authorisation response codes (8A, the issuer's field 39) the card acts on.
ARC_APPROVED = (b"00", b"10", b"11")
ARC_UNABLE_APPROVE = b"Y3"  # unable to go online, offline approved
ARC_UNABLE_DECLINE = b"Z3"  # unable to go online, offline declined


def format1(cid: bytes, atc: bytes, ac: bytes, iad: bytes) -> bytes:
    """Response message template format 1 of GENERATE AC."""
    return tlv.Tlv(0x80, cid + atc + ac + iad).encode()


def generate_ac(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """GENERATE AC (``80 AE P1 00 Lc CDOL-data 00``), first or second."""
    requested = _REQUESTED.get(cmd.p1 & 0xC0)
    if cmd.p2 or cmd.p1 & 0x2F or requested is None:
        raise CardStatus(StatusWord.WRONG_P1P2)
    app = selected_app(ctx)
    session = ctx.session
    if session.path in (None, "qpboc") or session.done:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    cda = bool(cmd.p1 & 0x10)
    if session.ac1 is None:
        return _first(ctx, app, requested, cmd.data, cda=cda)
    return _second(ctx, app, requested, cmd.data, cda=cda)


def _cdol_values(app: Application, tag: int, data: bytes) -> dict[int, bytes]:
    cdol = app.internal(tag)
    if cdol is None:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    return dol_values(cdol, data)


def _first(
    ctx: CardContext, app: Application, requested: AcType, data: bytes, *, cda: bool
) -> bytes:
    session, state = ctx.session, app.state
    session.values.update(_cdol_values(app, 0x8C, data))
    session.exchanged += data
    decision = _first_decision(ctx, app, requested)
    if decision == "TC" and session.path == "ec":
        state.ec_balance -= amount_of(session.values)
    elif decision == "TC":
        state.offline_count += 1
    state.online_pending = decision == "ARQC"
    session.ac1 = decision
    session.done = decision != "ARQC"
    cvr = cvr_bytes(ac1=decision, ac2=None, flags=cvr_flags(ctx))
    return _answer(ctx, app, decision, cvr, cda=cda)


def _first_decision(ctx: CardContext, app: Application, requested: AcType) -> AcType:
    session, state = ctx.session, app.state
    if state.blocked or requested == "AAC":
        return "AAC"
    if requested == "ARQC":
        return "ARQC"
    if session.path == "ec":
        amount = amount_of(session.values)
        single = n12_value(app.data.get(0x9F78, b""))
        if amount <= state.ec_balance and (single is None or amount <= single):
            return "TC"
        return "ARQC" if "dc" in app.paths else "AAC"
    lcol = app.internal(0x9F14)
    if (
        app.paths["dc"].online_only
        or session.pin_failed
        or (app.pin_block is not None and state.pin_tries == 0)
        or state.online_pending
        or state.issuer_auth_failed
        or (lcol is not None and len(lcol) == 1 and state.offline_count >= lcol[0])
    ):
        return "ARQC"
    return "TC"


def _second(
    ctx: CardContext, app: Application, requested: AcType, data: bytes, *, cda: bool
) -> bytes:
    if requested == "ARQC":
        raise CardStatus(StatusWord.WRONG_P1P2)
    session, state = ctx.session, app.state
    values = _cdol_values(app, 0x8D, data)
    session.values.update(values)
    session.exchanged += data
    issuer_data = values.get(0x91, b"")
    if session.issuer_auth is None and len(issuer_data) >= 10 and any(issuer_data):
        _check_arpc(ctx, app, issuer_data)
    arc = values.get(0x8A, b"")
    decision: AcType = "AAC"
    if requested == "TC" and not state.blocked and not ctx.image.card_blocked:
        decision = _second_decision(ctx, app, arc)
    session.unable_online = arc in (ARC_UNABLE_APPROVE, ARC_UNABLE_DECLINE)
    session.ac2, session.done = decision, True
    state.online_pending = False
    cvr = cvr_bytes(ac1="ARQC", ac2=decision, flags=cvr_flags(ctx))
    return _answer(ctx, app, decision, cvr, cda=cda)


def _second_decision(ctx: CardContext, app: Application, arc: bytes) -> AcType:
    state = app.state
    if arc in ARC_APPROVED:
        if ctx.session.issuer_auth is False:
            return "AAC"
        state.offline_count = 0
        return "TC"
    if arc == ARC_UNABLE_APPROVE:
        ucol = app.internal(0x9F23)
        if ucol is not None and len(ucol) == 1 and state.offline_count >= ucol[0]:
            return "AAC"
        state.offline_count += 1
        return "TC"
    return "AAC"


def _answer(
    ctx: CardContext, app: Application, decision: AcType, cvr: bytes, *, cda: bool = False
) -> bytes:
    iad = build_iad(ctx, cvr)
    ac = generate_cryptogram(ctx, ctx.session.values, iad)
    if decision == "ARQC":
        ctx.session.arqc = ac
    cid = bytes([CID[decision]])
    if decision == "TC":
        values = dict(ctx.session.values)
        values[0x9F27] = cid
        write_log(app, values)
    atc = app.state.atc.to_bytes(2, "big")
    signed = None
    if cda and decision != "AAC":
        signed = _cda(ctx, app, cid=cid, atc=atc, ac=ac, iad=iad)
    ctx.commit()
    return signed or format1(cid, atc, ac, iad)


def _cda(
    ctx: CardContext, app: Application, *, cid: bytes, atc: bytes, ac: bytes, iad: bytes
) -> bytes | None:
    """Format 2 with the cryptogram signed (CDA), when the AIP offers CDA and the card has an
    ICC key; None otherwise (the answer stays format 1)."""
    session = ctx.session
    path = app.paths.get(session.path or "")
    if path is None or not path.aip[:1] or not path.aip[0] & 0x01:
        return None
    tlvs = b"".join(
        tlv.Tlv(t, v).encode() for t, v in ((0x9F27, cid), (0x9F36, atc), (0x9F10, iad))
    )
    tx_hash = combined.transaction_hash(session.exchanged, b"", tlvs, sm=session.sm)
    dynamic = combined.icc_dynamic_data(ctx.random.bytes(8), cid, ac, tx_hash)
    sdad = personalise.sign_cda(app, session.sm, dynamic, session.values.get(0x9F37, bytes(4)))
    if sdad is None:
        return None
    body = tlvs[: -len(tlv.Tlv(0x9F10, iad).encode())] + tlv.Tlv(0x9F4B, sdad).encode()
    return tlv.Tlv(0x77, body + tlv.Tlv(0x9F10, iad).encode()).encode()


def _check_arpc(ctx: CardContext, app: Application, data: bytes) -> bool:
    """Issuer authentication (ARPC method 1); the outcome is saved before answering."""
    session = ctx.session
    arqc = session.arqc or bytes(8)
    arpc, arc = data[:8], data[8:10]
    expected = emv.generate_arpc_method_1(cipher_of(ctx), session_key(ctx, "mk_ac"), arqc, arc)
    ok = hmac.compare_digest(expected, arpc)
    session.issuer_auth = ok
    app.state.issuer_auth_failed = not ok
    if ok:
        app.state.last_online_atc = app.state.atc
    ctx.commit()
    return ok


def external_authenticate(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """EXTERNAL AUTHENTICATE with tag 91 data (ARPC ‖ ARC)."""
    if cmd.p1 or cmd.p2:
        raise CardStatus(StatusWord.WRONG_P1P2)
    app = selected_app(ctx)
    session = ctx.session
    if (
        session.path in (None, "qpboc")
        or session.ac1 != "ARQC"
        or session.ac2 is not None
        or session.issuer_auth is not None
        or session.arqc is None
    ):
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    if len(cmd.data) != 10:
        raise CardStatus(StatusWord.WRONG_LENGTH)
    if not _check_arpc(ctx, app, cmd.data):
        raise CardStatus(StatusWord.AUTH_FAILED)
    return b""
