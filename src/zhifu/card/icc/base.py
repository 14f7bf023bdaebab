"""Shared pieces of the emulated card: status words, the power-on session, card keys and 9F10.

Command handlers (``icc_*.py``) take a :class:`CardContext` (implemented by
:class:`zhifu.card.icc.emulated.EmulatedCard`) and a decoded command, return the response data and
raise :class:`CardStatus` to answer with an error status word.

Card Verification Results (CVR, 3 bytes inside 9F10, VIS 1.4 layout as PBOC uses it):

====  ===  =========================================================================
byte  bit  meaning
====  ===  =========================================================================
1     8-7  cryptogram of GENERATE AC 2: 00 AAC, 01 TC, 10 not requested
1     6-5  cryptogram of GENERATE AC 1: 00 AAC, 01 TC, 10 ARQC
1     4    issuer authentication performed and failed
1     3    offline PIN verification performed
1     2    offline PIN verification failed
1     1    unable to go online (ARC ``Y3``/``Z3`` in GENERATE AC 2)
2     8    last online transaction not completed
2     7    PIN try limit exceeded
2     6    consecutive offline transactions reached LCOL (9F14)
2     5    new card (never online: 9F13 is 0)
2     4    issuer authentication failed on the last online transaction
2     3    issuer authentication not performed after online authorisation
3     8-5  number of issuer script commands on the last transaction (max 15)
3     4    issuer script processing failed on the last transaction
3     2    offline DDA performed (INTERNAL AUTHENTICATE or fDDA) in this transaction
====  ===  =========================================================================

9F10 (docs/standards/card-terminal.md §1.8): ``07 DKI CVN 03 CVR(3) ALG 0A 01 IDD(5) MAC(4)``; ALG
is ``01`` for 3DES and ``04`` for SM4 (zhifu's choice, [?] in the spec); IDD holds the five
rightmost bytes of the e-cash balance 9F79 after the transaction; the MAC is the PBOC MAC
(4 bytes) over ATC ‖ IDD ‖ ``00`` under the script-integrity session key (SK from MK-SMI).

>>> cvr_bytes(ac1="ARQC", ac2=None, flags=0).hex().upper()
'A00000'
>>> cvr_bytes(ac1="TC", ac2=None, flags=CVR_PIN_PERFORMED).hex().upper()
'940000'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from zhifu.card.apdu import StatusWord
from zhifu.card.image.model import Application, CardImage, n12_value
from zhifu.codec import tlv
from zhifu.core.rng import RandomSource
from zhifu.crypto import emv, mac
from zhifu.crypto.cipher import Cipher

__all__ = [
    "CID",
    "CVR_ISSUER_AUTH_FAILED",
    "CVR_PIN_FAILED",
    "CVR_PIN_PERFORMED",
    "CVR_UNABLE_ONLINE",
    "AcType",
    "CardContext",
    "CardStatus",
    "PathName",
    "Session",
    "build_iad",
    "cvr_bytes",
]

AcType = Literal["AAC", "TC", "ARQC"]
PathName = Literal["dc", "ec", "qpboc"]
CID: dict[AcType, int] = {"AAC": 0x00, "TC": 0x40, "ARQC": 0x80}
_AC1_BITS: dict[AcType, int] = {"AAC": 0x00, "TC": 0x10, "ARQC": 0x20}
_AC2_BITS: dict[AcType | None, int] = {"AAC": 0x00, "TC": 0x40, None: 0x80, "ARQC": 0x80}

# flags, one int: byte 1 in bits 23-16, byte 2 in 15-8, byte 3 in 7-0
CVR_ISSUER_AUTH_FAILED = 0x08 << 16
CVR_PIN_PERFORMED = 0x04 << 16
CVR_PIN_FAILED = 0x02 << 16
CVR_UNABLE_ONLINE = 0x01 << 16
CVR_LAST_ONLINE_INCOMPLETE = 0x80 << 8
CVR_PIN_LIMIT_EXCEEDED = 0x40 << 8
CVR_VELOCITY_EXCEEDED = 0x20 << 8
CVR_NEW_CARD = 0x10 << 8
CVR_LAST_ISSUER_AUTH_FAILED = 0x08 << 8
CVR_ISSUER_AUTH_NOT_PERFORMED = 0x04 << 8
CVR_SCRIPT_FAILED = 0x08
CVR_DDA_PERFORMED = 0x02

ALG_ID = {Cipher.TDES: 0x01, Cipher.SM4: 0x04}
AC_DOL = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")


class CardStatus(Exception):  # noqa: N818 - a status word, not an error of zhifu
    """Raised by a command handler: answer with status word ``sw`` and no data."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


@dataclass
class Session:
    """What the chip keeps in RAM between power-on and power-off (one transaction)."""

    interface: Literal["contact", "contactless"] = "contact"
    auto_interface: bool = True  # SELECT PPSE / PSE decides the interface
    app: Application | None = None
    directory: Literal["pse", "ppse"] | None = None
    selection: tuple[bytes, int] | None = None  # (name, index) for SELECT next occurrence
    path: PathName | None = None
    sm: bool = False
    values: dict[int, bytes] = field(default_factory=dict)  # PDOL + CDOL data by tag
    exchanged: bytes = b""  # PDOL data, CDOL1 and CDOL2 data as sent: CDA's hash input
    challenge: bytes | None = None
    pin_performed: bool = False
    pin_failed: bool = False
    dda_performed: bool = False
    ac1: AcType | None = None
    ac2: AcType | None = None
    arqc: bytes | None = None
    issuer_auth: bool | None = None
    unable_online: bool = False
    prior_flags: int = 0  # CVR byte 2/3 facts about earlier transactions, fixed at GPO
    done: bool = False

    def reset_transaction(self) -> None:
        """A new SELECT starts a new transaction context."""
        self.path = None
        self.challenge = None
        self.sm = False
        self.values = {}
        self.exchanged = b""
        self.pin_performed = self.pin_failed = self.dda_performed = False
        self.ac1 = self.ac2 = None
        self.arqc = None
        self.issuer_auth = None
        self.unable_online = False
        self.prior_flags = 0
        self.done = False


class CardContext(Protocol):
    """What command handlers see of the card."""

    image: CardImage
    session: Session
    random: RandomSource

    def commit(self) -> None:
        """Persist the card file now (before the response leaves the card)."""
        ...


# ------------------------------------------------------------------------------ helpers


def selected_app(ctx: CardContext) -> Application:
    """The selected application, else 6985 (conditions of use not satisfied)."""
    if ctx.session.app is None or ctx.session.directory is not None:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    return ctx.session.app


def app_fci(ctx: CardContext, app: Application) -> bytes | None:
    """The FCI the application shows on the session's interface (either one in auto mode)."""
    fci = app.fci.get(ctx.session.interface)
    if fci is None and ctx.session.auto_interface:
        fci = next(iter(app.fci.values()), None)
    return fci


def cipher_of(ctx: CardContext) -> Cipher:
    """SM4 when both sides chose SM at GPO, else 3DES."""
    return Cipher.SM4 if ctx.session.sm else Cipher.TDES


def card_key(ctx: CardContext, which: Literal["mk_ac", "mk_smi", "mk_smc"]) -> bytes:
    """A card master key of the session's algorithm family; 6985 when not personalised."""
    app = selected_app(ctx)
    family = app.keys.get("sm4" if ctx.session.sm else "tdes")
    if family is None:
        raise CardStatus(StatusWord.CONDITIONS_NOT_SATISFIED)
    key: bytes = getattr(family, which)
    return key


def session_key(ctx: CardContext, which: Literal["mk_ac", "mk_smi", "mk_smc"]) -> bytes:
    """SK = PBOC session key of ``which`` for the current ATC (docs/standards/card-terminal.md
    §2.2)."""
    atc = selected_app(ctx).state.atc.to_bytes(2, "big")
    return emv.derive_pboc_session_key(cipher_of(ctx), card_key(ctx, which), atc)


def dol_values(dol: bytes, data: bytes) -> dict[int, bytes]:
    """Split DOL data by tag; a length that does not match the DOL is 6700."""
    try:
        return tlv.split_dol_data(dol, data)
    except ValueError:  # DecodeError
        raise CardStatus(StatusWord.WRONG_LENGTH) from None


def cvr_bytes(*, ac1: AcType | None, ac2: AcType | None, flags: int) -> bytes:
    """The three CVR bytes (see the module table)."""
    value = flags | (_AC2_BITS[ac2] | (_AC1_BITS[ac1] if ac1 else 0)) << 16
    return value.to_bytes(3, "big")


def cvr_flags(ctx: CardContext) -> int:
    """The CVR flags of the current transaction (all but the cryptogram types)."""
    session, app = ctx.session, selected_app(ctx)
    flags = session.prior_flags
    flags |= CVR_ISSUER_AUTH_FAILED if session.issuer_auth is False else 0
    flags |= CVR_PIN_PERFORMED if session.pin_performed else 0
    flags |= CVR_PIN_FAILED if session.pin_failed else 0
    flags |= CVR_UNABLE_ONLINE if session.unable_online else 0
    flags |= CVR_PIN_LIMIT_EXCEEDED if app.state.pin_tries == 0 else 0
    flags |= CVR_DDA_PERFORMED if session.dda_performed else 0
    if session.ac1 == "ARQC" and session.ac2 is not None and session.issuer_auth is None:
        flags |= CVR_ISSUER_AUTH_NOT_PERFORMED
    lcol = app.internal(0x9F14)
    if lcol and app.state.offline_count >= lcol[0]:
        flags |= CVR_VELOCITY_EXCEEDED
    if app.state.last_online_atc == 0:
        flags |= CVR_NEW_CARD
    return flags


def prior_flags(app: Application) -> int:
    """CVR facts about the previous transaction, read at GPO before this one changes them."""
    state = app.state
    flags = CVR_LAST_ONLINE_INCOMPLETE if state.online_pending else 0
    flags |= CVR_LAST_ISSUER_AUTH_FAILED if state.issuer_auth_failed else 0
    flags |= min(state.last_scripts, 15) << 4
    flags |= CVR_SCRIPT_FAILED if state.last_script_failed else 0
    return flags


def build_iad(ctx: CardContext, cvr: bytes) -> bytes:
    """Issuer application data 9F10 from the application's template (module docstring)."""
    app, cipher = selected_app(ctx), cipher_of(ctx)
    iad = bytearray(app.iad)
    iad[4:7] = cvr
    iad[7] = ALG_ID[cipher]
    if len(iad) >= 19 and iad[8] == 0x0A:
        idd = bytes.fromhex(f"{app.state.ec_balance:012d}")[1:] if has_ecash(app) else bytes(5)
        iad[10:15] = idd
        atc = app.state.atc.to_bytes(2, "big")
        iad[15:19] = mac.mac_pboc(cipher, session_key(ctx, "mk_smi"), atc + idd + b"\x00", 4)
    return bytes(iad)


def has_ecash(app: Application) -> bool:
    """Whether the application carries an e-cash purse (an EC balance limit 9F77)."""
    return 0x9F77 in app.data


def amount_of(values: dict[int, bytes], tag: int = 0x9F02) -> int:
    """An n12 amount from the terminal's data: 0 when absent, 6A80 when not BCD."""
    raw = values.get(tag)
    if raw is None:
        return 0
    amount = n12_value(raw)
    if amount is None:
        raise CardStatus(StatusWord.WRONG_DATA)
    return amount


def generate_cryptogram(ctx: CardContext, values: dict[int, bytes], iad: bytes) -> bytes:
    """ARQC/TC/AAC over the PBOC CVN 01 data assembled by tag (docs/standards/card-terminal.md
    §2.3)."""
    app = selected_app(ctx)
    path = app.paths[ctx.session.path or "dc"]
    std = tlv.split_dol_data(AC_DOL, tlv.build_dol_data(AC_DOL, values))
    data = emv.build_ac_data_pboc(
        tag_9f02=std[0x9F02],
        tag_9f03=std[0x9F03],
        tag_9f1a=std[0x9F1A],
        tag_95=std[0x95],
        tag_5f2a=std[0x5F2A],
        tag_9a=std[0x9A],
        tag_9c=std[0x9C],
        tag_9f37=std[0x9F37],
        tag_82=path.aip,
        tag_9f36=app.state.atc.to_bytes(2, "big"),
        tag_9f10=iad,
    )
    return emv.generate_ac(cipher_of(ctx), session_key(ctx, "mk_ac"), data)


def write_log(app: Application, values: dict[int, bytes], *, load: bytes | None = None) -> None:
    """Prepend a transaction-log (9F4D/9F4F) or, with ``load``, a load-log (DF4D/DF4F) record.

    A load-log record is ``load`` (P1 P2 ‖ balance before ‖ balance after) ‖ DF4F data.
    """
    entry_tag, format_tag = (0xDF4D, 0xDF4F) if load is not None else (0x9F4D, 0x9F4F)
    entry = log_entry(app, entry_tag)
    dol = app.internal(format_tag)
    if entry is None or dol is None:
        return
    known = dict(values)
    known[0x9F36] = app.state.atc.to_bytes(2, "big")
    try:
        record = (load or b"") + tlv.build_dol_data(dol, known)
    except ValueError:  # a malformed personalised DOL: no log
        return
    log = app.state.load_log if load is not None else app.state.transaction_log
    log.insert(0, record)
    del log[entry[1] :]


def log_entry(app: Application, tag: int) -> tuple[int, int] | None:
    """(SFI, record count) of the log entry 9F4D or DF4D in the FCI, if personalised."""
    return app.log_entry(tag)
