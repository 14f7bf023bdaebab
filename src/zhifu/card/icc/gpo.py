"""GET PROCESSING OPTIONS: the DC, EC and qPBOC paths, algorithm choice and the qPBOC answer.

The card chooses its path from the PDOL data (docs/standards/card-terminal.md §1.4-1.6):

- **qPBOC** on the contactless interface when the TTQ (9F66) byte 1 bit 6 (``20``) is set
  and the application has a qPBOC path: the cryptogram comes back in the GPO answer
  (format 2, template 77);
- **EC** (e-cash) when the terminal says 9F7A = ``01``, the amount 9F02 is at most the
  balance 9F79 and at most the single-transaction limit 9F78;
- **DC** (debit/credit) otherwise.

DC and EC answer in format 1: ``80 L AIP AFL``. The ATC is incremented and saved before the
answer leaves the card (the ATC of the transaction, used by its cryptograms and scripts);
at ``FFFF`` GPO answers ``6985``. A blocked application answers ``6985``, a PDOL data
length that does not match the PDOL ``6700``, command data that is not one tag 83 ``6A80``.

Algorithm family (JR/T 0025.17, docs/standards/card-terminal.md §1.7): the card lists DF69 in its
PDOL only when it holds SM4 keys; the terminal fills ``01`` when it supports SM (any other value: it
does not); the card then uses SM4 (cryptograms, scripts) and SM2 (ODA) for the whole
transaction, and its AFL (``afl_sm``) points at the SM2 certificates. Without DF69 = 01 the
card uses 3DES/RSA.

qPBOC card decision (docs/standards/card-terminal.md §1.6, simplified): ARQC when the TTQ asks for
an online cryptogram (byte 2 bit 8), when the currency differs from 9F51, when the amount exceeds
the balance or 9F78, or when the balance would fall below the reset threshold 9F6D; else TC
and the balance is debited. An offline-only reader (TTQ byte 1 bit 4) gets AAC instead of
ARQC. fDDA data 9F4B (version 01, with 9F69) comes with a TC, or with an ARQC when the TTQ
says the reader does ODA for online transactions (byte 1 bit 1).

>>> choose_sm(bytes.fromhex("9F0206DF6901"), {0xDF69: b"\\x01"}, has_sm4=True)
True
"""

from __future__ import annotations

from zhifu.card import personalise
from zhifu.card.apdu import CommandApdu, StatusWord
from zhifu.card.icc.base import (
    CID,
    AcType,
    CardContext,
    CardStatus,
    PathName,
    amount_of,
    app_fci,
    build_iad,
    cvr_bytes,
    cvr_flags,
    dol_values,
    generate_cryptogram,
    has_ecash,
    prior_flags,
    selected_app,
    write_log,
)
from zhifu.card.image.model import Application, GpoPath, n12, n12_value
from zhifu.codec import tlv

__all__ = ["choose_sm", "get_processing_options"]


def _pdol(ctx: CardContext, app: Application) -> bytes:
    fci = app_fci(ctx, app) or b""
    item = tlv.find(tlv.decode(fci), 0x9F38)
    return b"" if item is None else item.value


def choose_sm(pdol: bytes, values: dict[int, bytes], *, has_sm4: bool) -> bool:
    """SM when the card lists DF69, holds SM4 keys and the terminal answered ``01``."""
    listed = any(tag == 0xDF69 for tag, _ in tlv.parse_dol(pdol))
    return has_sm4 and listed and values.get(0xDF69, b"")[:1] == b"\x01"


def _command_data(cmd: CommandApdu) -> bytes:
    if not cmd.data:
        raise CardStatus(StatusWord.WRONG_LENGTH)
    try:
        items = tlv.decode(cmd.data)
    except ValueError:  # DecodeError: the 83 length does not match
        raise CardStatus(StatusWord.WRONG_LENGTH) from None
    if len(items) != 1 or items[0].tag != 0x83 or cmd.data[0] != 0x83:
        raise CardStatus(StatusWord.WRONG_DATA)
    return items[0].value


def _ec_allowed(app: Application, values: dict[int, bytes]) -> bool:
    if "ec" not in app.paths or not has_ecash(app) or values.get(0x9F7A, b"")[:1] != b"\x01":
        return False
    amount = amount_of(values)
    single = n12_value(app.data.get(0x9F78, b""))
    return amount <= app.state.ec_balance and (single is None or amount <= single)


def _choose_path(ctx: CardContext, app: Application, values: dict[int, bytes]) -> PathName:
    ttq = values.get(0x9F66, b"")
    contactless = ctx.session.interface == "contactless"
    if contactless and ttq[:1] and ttq[0] & 0x20 and "qpboc" in app.paths:
        return "qpboc"
    if _ec_allowed(app, values):
        return "ec"
    if "dc" in app.paths:
        return "dc"
    raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)


def get_processing_options(ctx: CardContext, cmd: CommandApdu) -> bytes:
    """GPO (``80 A8 00 00 Lc 83 L PDOL-data 00``)."""
    if cmd.p1 or cmd.p2:
        raise CardStatus(StatusWord.WRONG_P1P2)
    app = selected_app(ctx)
    session = ctx.session
    if app.state.blocked or session.path is not None:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    pdol = _pdol(ctx, app)
    pdol_data = _command_data(cmd)
    values = dol_values(pdol, pdol_data)
    amount_of(values)  # a 9F02 that is not BCD answers 6A80 before anything changes
    if app.state.atc >= 0xFFFF:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    path = _choose_path(ctx, app, values)
    sm = choose_sm(pdol, values, has_sm4="sm4" in app.keys)
    if ("sm4" if sm else "tdes") not in app.keys:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    session.path = path
    session.sm, session.values, session.exchanged = sm, values, pdol_data
    session.prior_flags = prior_flags(app)
    app.state.atc += 1
    app.state.last_scripts, app.state.last_script_failed = 0, False
    gpo_path = app.paths[path]
    afl = gpo_path.afl_sm if sm and gpo_path.afl_sm is not None else gpo_path.afl
    if path == "qpboc":
        answer = _qpboc(ctx, app, gpo_path, afl)
    else:
        answer = tlv.Tlv(0x80, gpo_path.aip + afl).encode()
    ctx.commit()
    return answer


def _qpboc_decision(app: Application, values: dict[int, bytes]) -> AcType:
    ttq = values.get(0x9F66, bytes(4)).ljust(2, b"\x00")
    online: AcType = "AAC" if ttq[0] & 0x08 else "ARQC"
    amount = amount_of(values)
    if ttq[1] & 0x80 or not has_ecash(app):
        return online
    currency, own = values.get(0x5F2A), app.data.get(0x9F51)
    single = n12_value(app.data.get(0x9F78, b""))
    if (currency and own and currency != own) or amount > app.state.ec_balance:
        return online
    if single is not None and amount > single:
        return online
    reset = n12_value(app.data.get(0x9F6D, b""))
    if online == "ARQC" and reset is not None and app.state.ec_balance - amount < reset:
        return "ARQC"
    return "TC"


def _qpboc(ctx: CardContext, app: Application, path: GpoPath, afl: bytes) -> bytes:
    session, values = ctx.session, ctx.session.values
    decision = _qpboc_decision(app, values)
    if decision == "TC":
        app.state.ec_balance -= amount_of(values)
    session.ac1, session.done = decision, True
    iad = build_iad(ctx, cvr_bytes(ac1=decision, ac2=None, flags=cvr_flags(ctx)))
    ac = generate_cryptogram(ctx, values, iad)
    session.arqc = ac if decision == "ARQC" else None
    items = [
        tlv.Tlv(0x82, path.aip),
        tlv.Tlv(0x94, afl),
        tlv.Tlv(0x9F36, app.state.atc.to_bytes(2, "big")),
        tlv.Tlv(0x9F26, ac),
        tlv.Tlv(0x9F27, bytes([CID[decision]])),
        tlv.Tlv(0x9F10, iad),
    ]
    for tag in (0x57, 0x5F34):
        value = app.qpboc_data.get(tag, app.internal(tag))
        if value is not None:
            items.append(tlv.Tlv(tag, value))
    ctq = app.internal(0x9F6C)
    if ctq is not None:
        items.append(tlv.Tlv(0x9F6C, ctq))
    if has_ecash(app) and 0x9F5D in app.data:
        items.append(tlv.Tlv(0x9F5D, n12(app.state.ec_balance)))
    ttq = values.get(0x9F66, bytes(4))
    if decision == "TC" or (decision == "ARQC" and ttq[:1] and ttq[0] & 0x01):
        items.extend(_fdda(ctx, app, ctq or b"\x00\x00"))
    log_values = dict(values)
    log_values[0x9F27] = items[4].value
    if decision != "AAC":
        write_log(app, log_values)
    return tlv.Tlv(0x77, children=tuple(items)).encode()


def _fdda(ctx: CardContext, app: Application, ctq: bytes) -> list[tlv.Tlv]:
    values = ctx.session.values
    card_un = ctx.random.bytes(4)
    card_data = b"\x01" + card_un + ctq[:2].ljust(2, b"\x00")
    std = tlv.split_dol_data(
        bytes.fromhex("9F37049F02065F2A02"),
        tlv.build_dol_data(bytes.fromhex("9F37049F02065F2A02"), values),
    )
    sdad = personalise.sign_fdda(
        app,
        ctx.session.sm,
        terminal_un=std[0x9F37],
        amount=std[0x9F02],
        currency=std[0x5F2A],
        tag_9f69=card_data,
    )
    if sdad is None:
        return []
    ctx.session.dda_performed = True
    return [tlv.Tlv(0x9F69, card_data), tlv.Tlv(0x9F4B, sdad)]
