"""The card side of a contact PBOC transaction, as the terminal runs it
(docs/standards/card-terminal.md §1.2-1.4).

1. Application selection: SELECT the PSE and read its directory (the terminal's AIDs that the
   card lists, by priority); without a PSE, SELECT each AID of the terminal's list.
2. GET PROCESSING OPTIONS with the PDOL data, READ RECORD every record the AFL names; the PAN,
   expiry, PSN and Track 2 equivalent come from those records.
3. GET DATA 9F79 (the e-cash balance an e-cash load needs), first GENERATE AC asking for an
   ARQC with the CDOL1 data.
4. After the host's answer: the issuer's 71 scripts, EXTERNAL AUTHENTICATE with the ARPC
   (tag 91), second GENERATE AC with CDOL2 (a TC asked for when the host approved, an AAC when
   it declined; the ARC is the host's field 39, ``Z3`` when no answer came), then the 72
   scripts. Each script's result is kept for the advice (DF31: result ‖ script id).

With :class:`KernelOptions`, the kernel (:mod:`zhifu.terminal.kernel`) runs between the records
and the first GENERATE AC: processing restrictions, SDA/DDA, the CVM list, terminal risk
management and action analysis set TVR, TSI and 9F34, and the first GENERATE AC asks for the
kernel's decision (an AAC ends the transaction offline; docs/terminal.md, "The kernel").

>>> from zhifu.card.icc.emulated import EmulatedCard
>>> chip = ChipSession(EmulatedCard.example())
>>> chip.facts().masked_pan, chip.aid.hex().upper()
('622800******1117', 'A000000333010101')
>>> icc = chip.first_ac(1000, 0x00, TerminalData("10000001", "000001"))
>>> icc[0x9F27].hex(), icc[0x9F1E], icc[0x9F41].hex()
('80', b'10000001', '00000001')
>>> chip.complete("Z3", {})     # no answer from the host: the card declines (AAC)
False
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Final

from zhifu.card.apdu import CommandApdu
from zhifu.card.icc.base import CID
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.icc.select import PPSE, PSE
from zhifu.card.oda.base import OdaError
from zhifu.card.oda.ca import CaKey
from zhifu.card.oda.cda import transaction_hash, verify_cda
from zhifu.card.oda.keys import PublicKey
from zhifu.card.personalise import encipher_pin
from zhifu.card.readers import CardReader, InProcessReader, ReaderError, exchange
from zhifu.card.scripted import ONLINE_TAGS, Terminal, terminal_values
from zhifu.codec import tlv
from zhifu.codec.pan import mask_pan
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import DecodeError, UsageError, ZhifuError
from zhifu.crypto.sm2 import Sm2PublicKey
from zhifu.terminal.kernel.action import Decision
from zhifu.terminal.kernel.bits import TvrBit
from zhifu.terminal.kernel.config import TerminalConfig
from zhifu.terminal.kernel.oda import icc_key, static_data, verify_tap
from zhifu.terminal.kernel.qpboc import TAP_TAGS, cvm_required, ttq
from zhifu.terminal.kernel.run import KernelResult, card_objects, run_kernel

__all__ = [
    "AIDS",
    "OFFLINE_PIN_CODES",
    "Candidate",
    "CardFacts",
    "CardRefusedError",
    "ChipSession",
    "Chooser",
    "KernelOptions",
    "OfflineDeclineError",
    "OfflinePin",
    "TerminalData",
]

AIDS: Final = (
    bytes.fromhex("A000000333010101"),
    bytes.fromhex("A000000333010102"),
    bytes.fromhex("A000000333010103"),
    bytes.fromhex("A000000333010106"),
)
"""The terminal's AID list: UnionPay debit, credit, quasi-credit, e-cash (§1.2)."""

CAPABILITIES: Final = bytes.fromhex("604000")
"""9F33: magnetic stripe and contact IC; online enciphered PIN; no offline authentication."""
TERMINAL_TYPE: Final = b"\x22"
"""9F35: attended, merchant-operated, online with offline capability."""
APP_VERSION: Final = bytes.fromhex("0030")
"""9F09: PBOC 3.0."""
_TVR_NO_ODA, _TVR_ONLINE_PIN, _TVR_ISSUER_AUTH_FAILED = (0, 0x80), (2, 0x04), (4, 0x40)
_SCRIPT_OK, _SCRIPT_FAILED = 0x20, 0x10


@dataclasses.dataclass(frozen=True)
class KernelOptions:
    """The kernel's inputs from the terminal: its configuration and CA public keys."""

    config: TerminalConfig = dataclasses.field(default_factory=TerminalConfig)
    capks: tuple[CaKey, ...] = ()
    by_aid: tuple[tuple[bytes, TerminalConfig], ...] = ()
    """Per AID (downloaded parameters): the configuration when that application is chosen."""

    def config_for(self, aid: bytes) -> TerminalConfig:
        """The configuration for the selected ``aid`` (the longest listed prefix), else
        :attr:`config`."""
        found = [(len(a), cfg) for a, cfg in self.by_aid if aid.startswith(a)]
        return max(found, key=lambda item: item[0])[1] if found else self.config


OfflinePin = Callable[[], bytes]
"""The PIN pad's answer when the card verifies the PIN itself: the ISO format 2 block."""
OFFLINE_PIN_CODES: Final = frozenset({0x01, 0x03, 0x04, 0x05})


class CardRefusedError(ZhifuError):
    """The card ended the transaction (no application, a command refused, an offline decline)."""


class OfflineDeclineError(CardRefusedError):
    """The kernel's action analysis declined the transaction offline (the card gave an AAC)."""


@dataclasses.dataclass(frozen=True)
class TerminalData:
    """What the terminal adds to the card's data: its id (9F1E) and the STAN (9F41)."""

    terminal_id: str
    stan: str
    pin_entered: bool = True


@dataclasses.dataclass(frozen=True, repr=False)
class CardFacts:
    """What the terminal read from the card's records for the message (never printed)."""

    pan: str
    psn: str
    expiry: str
    track2: str
    track3: str = ""  # a swiped stripe's track 3 (ISO 4909 data, no sentinels)

    def __repr__(self) -> str:
        return f"CardFacts({mask_pan(self.pan)})"

    @property
    def masked_pan(self) -> str:
        """First 6 and last 4 digits."""
        return mask_pan(self.pan)


def _reader(card: Path | str | EmulatedCard | CardReader) -> CardReader:
    if isinstance(card, str | Path):
        try:
            return InProcessReader(EmulatedCard.load(card))
        except (OSError, ValueError, ZhifuError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
            raise UsageError(f"cannot read the card file ({reason})", argument="--card") from None
    if isinstance(card, EmulatedCard):
        return InProcessReader(card)
    return card


class ChipSession:
    """One card in the reader for one transaction: a card file, an emulated card or a reader."""

    def __init__(
        self, card: Path | str | EmulatedCard | CardReader, *, choose: Chooser | None = None
    ) -> None:
        self.choose = choose
        self.reader = _reader(card)
        self.reader.connect()
        self.aid = b""
        self.script_results: list[bytes] = []
        self._term: Terminal | None = None
        self._facts: CardFacts | None = None
        self.kernel_result: KernelResult | None = None
        self.contactless = False
        self.online_pin = True
        self.offline_approved = False  # the card answered TC: approved offline (Y1), upload later
        self._offline_pin: OfflinePin | None = None
        self.offline_pin_verified = False  # the card said the offline PIN was right
        self._options = KernelOptions()

    def _transmit(self, apdu: bytes) -> bytes:
        try:
            return exchange(self.reader, CommandApdu.decode(apdu)).encode()
        except (ReaderError, DecodeError) as exc:
            raise CardRefusedError(f"the card did not answer ({exc})") from None

    @property
    def terminal(self) -> Terminal:
        """The exchange with the card (after :meth:`read`): its values, trace and records."""
        if self._term is None:
            raise UsageError("read the card first", argument="card")
        return self._term

    # ------------------------------------------------------------------ selection and records

    def _candidates(self, term: Terminal) -> list[bytes]:
        """The terminal's AIDs the card's PSE lists, by priority (EMV Book 1 §12.3); the
        cardholder chooses when several match and a chooser is given; without a PSE, the
        terminal's own list."""
        fci, sw = term.select(PSE)
        if sw != 0x9000:
            return list(AIDS)
        sfi_item = tlv.find(tlv.decode(fci), 0x88)
        sfi = sfi_item.value[0] if sfi_item is not None and sfi_item.value else 1
        listed: list[Candidate] = []
        for number in range(1, 17):
            response = term.send(0x00, 0xB2, number, sfi << 3 | 4)
            if not response.ok:
                break
            for entry in tlv.decode(response.data)[0].children:
                found = _candidate(entry)
                if found is not None:
                    listed.append(found)
        listed.sort(key=lambda item: item.priority & 0x0F or 15)
        if len(listed) > 1 and self.choose is not None:
            chosen = listed[self.choose(listed)]
            return [chosen.aid] + [c.aid for c in listed if c is not chosen]
        usable = [c.aid for c in listed if not c.confirm]  # none needs the cardholder's word
        if listed and not usable:
            raise CardRefusedError("the cardholder must confirm the application: choose it")
        return usable or list(AIDS)

    def read(self, amount: int, transaction_type: int, data: TerminalData | None = None) -> None:
        """Select the application, GPO with the PDOL data, read the records the AFL names."""
        values = _terminal_values(amount, transaction_type, data)
        term = self._term = Terminal(self._transmit, values)
        for aid in self._candidates(term):
            fci, sw = term.select(aid)
            if sw == 0x9000:
                self.aid = aid
                break
        else:
            raise CardRefusedError("the card has no application this terminal accepts")
        term.values[0x84] = self.aid
        pdol = tlv.find(tlv.decode(fci), 0x9F38)
        if not term.gpo(pdol.value if pdol is not None else b"").ok:
            raise CardRefusedError("the card refused GET PROCESSING OPTIONS")
        term.read_afl()
        self._facts = self._facts_of(term)

    @staticmethod
    def _facts_of(term: Terminal, extra: Mapping[int, bytes] | None = None) -> CardFacts:
        def get(tag: int) -> bytes:
            return term.card_object(tag) or (extra or {}).get(tag) or b""

        track = get(0x57).hex().upper().rstrip("F")
        pan = get(0x5A).hex().upper().rstrip("F") or track.split("D")[0]
        expiry = get(0x5F24).hex()[:4]
        psn = (get(0x5F34) or b"\x00").hex().zfill(3)
        if not pan or not track:
            raise CardRefusedError("the card's records hold no PAN or Track 2 equivalent")
        return CardFacts(pan, psn, expiry or track.split("D")[1][:4], track)

    def facts(self) -> CardFacts:
        """PAN, PSN, expiry (YYMM) and the Track 2 equivalent, read from the records."""
        if self._facts is None:
            self.read(0, 0x00)
        assert self._facts is not None
        return self._facts

    def ecash_balance(self) -> int:
        """The e-cash balance in fen (GET DATA 9F79 after reading the card; no host)."""
        facts = self.facts()
        del facts
        answer = self.terminal.send(0x80, 0xCA, 0x9F, 0x79)
        found = tlv.find(tlv.decode(answer.data), 0x9F79) if answer.ok else None
        if found is None:
            raise CardRefusedError(f"the card has no e-cash balance (SW {answer.sw:04X})")
        return int(found.value.hex())

    # ------------------------------------------------------------------ cryptograms

    def first_ac(
        self,
        amount: int,
        transaction_type: int,
        data: TerminalData | None = None,
        *,
        kernel: KernelOptions | None = None,
        offline_pin: OfflinePin | None = None,
    ) -> dict[int, bytes]:
        """Read the card for this amount, run the kernel's steps (``kernel``; ``offline_pin``
        gives the plaintext PIN block when the card's CVM is an offline PIN), then first
        GENERATE AC: the field 55 values of the ARQC (or of a TC approved offline).

        Raises :class:`OfflineDeclineError` when action analysis declines (AAC), and
        :class:`CardRefusedError` when the card does not ask to go online.
        """
        self.read(amount, transaction_type, data)
        term = self._term
        assert term is not None
        values = term.values
        if kernel is not None:
            self._offline_pin, self._options = offline_pin, kernel
            self.kernel_result = self._run_kernel(term, amount, transaction_type, data, kernel)
            if self.kernel_result.decision is Decision.AAC:
                term.generate_ac(Decision.AAC.value, 0x8C)
                names = ", ".join(self.kernel_result.tvr.names()) or "no TVR bit"
                raise OfflineDeclineError(f"declined offline by the terminal ({names})")
        balance = term.send(0x80, 0xCA, 0x9F, 0x79)
        if balance.ok and (found := tlv.find(tlv.decode(balance.data), 0x9F79)) is not None:
            values[0x9F79] = found.value
        result = self.kernel_result
        wants_tc = result is not None and result.decision is Decision.TC
        key = result.oda.icc_key if result is not None and result.oda.method == "cda" else None
        asked = Decision.TC.value if wants_tc else Decision.ARQC.value
        answer = term.generate_ac(asked | (0x10 if key is not None else 0), 0x8C)
        trace = term.trace
        if answer.ok and key is not None and trace.sdad:
            trace.arqc = self._check_cda(term, key)
        cid = trace.cid1 if answer.ok and trace.cid1 is not None else -1
        if cid == CID["AAC"]:
            raise OfflineDeclineError("the card declined offline (AAC)")
        self.offline_approved = wants_tc and cid == CID["TC"]
        if cid != CID["ARQC"] and not self.offline_approved:
            raise CardRefusedError(f"the card declined offline (SW {answer.sw:04X})")
        icc = {tag: values[tag] for tag in (*ONLINE_TAGS, *_EXTRA_TAGS) if tag in values}
        icc.update({0x9F26: trace.arqc, 0x9F27: bytes([cid]), 0x9F36: trace.atc,
                    0x9F10: trace.iad, 0x82: trace.aip})  # fmt: skip
        return icc

    def _check_cda(self, term: Terminal, key: PublicKey) -> bytes:
        """The cryptogram from a CDA answer, its signature and transaction hash checked; a
        failure sets *CDA failed* and declines offline (the card's AC is not to be trusted)."""
        trace = term.trace
        tx_hash = transaction_hash(trace.exchanged, b"", trace.signed_tlvs,
                                   sm=isinstance(key, Sm2PublicKey))  # fmt: skip
        try:
            return verify_cda(
                key, trace.sdad, unpredictable_number=term.values.get(0x9F37, b""),
                cid=bytes([trace.cid1 or 0]), tx_hash=tx_hash,
            )  # fmt: skip
        except OdaError as exc:
            if self.kernel_result is not None:
                self.kernel_result.tvr.set(TvrBit.CDA_FAILED)
            raise OfflineDeclineError(f"CDA failed: {exc}") from None

    def _run_kernel(
        self, term: Terminal, amount: int, transaction_type: int, data: TerminalData | None,
        options: KernelOptions,
    ) -> KernelResult:  # fmt: skip
        """Restrictions, ODA, CVM, risk management and action analysis (``terminal.kernel``).

        Online PIN is the PIN the cardholder entered (``data.pin_entered``); an offline PIN goes
        to the card in VERIFY (:meth:`_verify_pin`); a signature is accepted.
        """
        entered = data is None or data.pin_entered

        def perform(code: int) -> str:
            if code == 0x02:
                return "ok" if entered else "bypassed"
            if code in OFFLINE_PIN_CODES:
                return self._verify_pin(term, code)
            return "ok" if code in (0x1E, 0x1F, 0x20) else "no_pad"

        return run_kernel(
            term, amount, capks=options.capks, perform_cvm=perform,
            today=datetime.now(SHANGHAI).date(), config=options.config_for(self.aid),
            transaction_type=transaction_type,
        )  # fmt: skip

    def _verify_pin(self, term: Terminal, code: int) -> str:
        """Offline PIN: VERIFY with the plaintext block (P2 80), or enciphered under the ICC
        key with the card's challenge (P2 88); the kernel's answer for the card's status."""
        if self._offline_pin is None:
            return "no_pad"
        block = self._offline_pin()
        if code in (0x01, 0x03):
            answer = term.send(0x00, 0x20, 0x00, 0x80, block, le=None)
        else:
            challenge = term.send(0x00, 0x84, 0x00, 0x00, le=8)
            card = card_objects(term)
            facts = self._facts_of(term)
            static = static_data(term.trace.afl, term.trace.records)
            key = icc_key(card, static, facts.pan, capks=self._options.capks,
                          today=datetime.now(SHANGHAI).date())  # fmt: skip
            if not challenge.ok or key is None:
                return "no_pad"  # no ICC key to encipher under: this CVM cannot be performed
            data = encipher_pin(key, block, challenge.data)
            answer = term.send(0x00, 0x20, 0x00, 0x88, data, le=None)
        if answer.sw == 0x9000:
            self.offline_pin_verified = True
            return "ok"
        return "blocked" if answer.sw in (0x6983, 0x6984) else "wrong"

    # ------------------------------------------------------------------ contactless

    def tap(
        self,
        amount: int,
        transaction_type: int,
        data: TerminalData | None = None,
        *,
        kernel: KernelOptions | None = None,
    ) -> dict[int, bytes]:
        """One contactless tap (qPBOC, :mod:`zhifu.terminal.kernel.qpboc`): the field 55 values
        of the card's cryptogram. ``online_pin`` then says whether the PIN is needed, and
        ``offline_approved`` that the card approved it offline (TC with a good fDDA)."""
        options = kernel or KernelOptions()
        values = _terminal_values(amount, transaction_type, data)
        term = self._term = Terminal(self._transmit, values)
        fci, sw = term.select(PPSE)
        if sw != 0x9000:
            raise CardRefusedError("the card has no contactless interface: insert it")
        self.aid = self._tap_aid(term, fci)
        cfg = options.config_for(self.aid)
        if amount > cfg.contactless_limit:
            raise CardRefusedError("above the contactless limit: insert the card")
        values.update({0x9F66: ttq(amount, cfg), 0x95: bytes(5)})
        fci, _ = term.select(self.aid)
        term.values[0x84] = self.aid
        pdol = tlv.find(tlv.decode(fci), 0x9F38)
        answer = term.gpo(pdol.value if pdol is not None else b"")
        if not answer.ok or answer.data[:1] != b"\x77":
            raise CardRefusedError(f"the card refused the tap (SW {answer.sw:04X})")
        gpo = {item.tag: item.value for item in tlv.decode(answer.data)[0].children}
        term.read_afl()
        self._facts = self._facts_of(term, gpo)
        cid = (gpo.get(0x9F27) or b"\x00")[0]
        if cid == CID["AAC"]:
            raise OfflineDeclineError("the card declined the tap (AAC)")
        self.contactless = True
        if cid == CID["TC"]:
            self._offline_tap(term, gpo, options)
        elif cid != CID["ARQC"]:
            raise CardRefusedError(f"the card answered the tap with CID {cid:02X}")
        self.online_pin = cvm_required(amount, cfg, gpo.get(0x9F6C)) and not self.offline_approved
        icc = {tag: term.values[tag] for tag in (*ONLINE_TAGS, *_EXTRA_TAGS) if tag in term.values}
        icc.update({tag: gpo[tag] for tag in TAP_TAGS if tag in gpo})
        icc[0x9F34] = bytes.fromhex("020000" if self.online_pin else "1F0002")
        ecash_code = term.card_object(0x9F74)
        if self.offline_approved and ecash_code:  # the card spent its e-cash balance
            icc[0x9F74] = ecash_code
        return icc

    def _offline_tap(
        self, term: Terminal, gpo: Mapping[int, bytes], options: KernelOptions
    ) -> None:
        """A TC from the tap: trusted only with a good fDDA, else declined offline."""
        facts = self.facts()
        card = {**card_objects(term), **gpo}
        static = static_data(term.trace.afl, term.trace.records)
        today = datetime.now(SHANGHAI).date()
        if not verify_tap(card, static, facts.pan, capks=options.capks, values=term.values,
                          today=today):  # fmt: skip
            raise OfflineDeclineError("the card's fDDA failed: the offline approval is refused")
        self.offline_approved = True

    @staticmethod
    def _tap_aid(term: Terminal, fci: bytes) -> bytes:
        listed: list[tuple[int, bytes]] = []
        for entry in tlv.decode(fci):
            for item in entry.children if entry.tag == 0x6F else ():
                for found in _directory_entries(item):
                    aid, priority = found.find(0x4F), found.find(0x87)
                    if aid is not None and any(aid.value.startswith(a) for a in AIDS):
                        rank = priority.value[0] & 0x0F if priority and priority.value else 15
                        listed.append((rank, aid.value))
        if not listed:
            raise CardRefusedError("the card lists no application this terminal accepts")
        return sorted(listed, key=lambda item: item[0])[0][1]

    def complete(self, field_39: str, answer: Mapping[int, bytes]) -> bool:
        """Scripts, issuer authentication and second GENERATE AC; True for a TC. After a tap
        the card is gone: the host's answer decides."""
        if self.contactless:
            return field_39 == "00"
        term = self._term
        assert term is not None, "first_ac comes first"
        self._run_scripts(term, answer, 0x71)
        issuer_data = answer.get(0x91)
        if issuer_data is not None and len(issuer_data) >= 10:
            response = term.send(0x00, 0x82, 0x00, 0x00, issuer_data[:10], le=None)
            if not response.ok:
                _set_bit(term.values, *_TVR_ISSUER_AUTH_FAILED)
        term.values[0x8A] = field_39.encode("ascii")[:2].ljust(2, b"0")
        term.values[0x91] = issuer_data or b""
        approved = field_39 == "00"
        response = term.generate_ac(0x40 if approved else 0x00, 0x8D)
        self._run_scripts(term, answer, 0x72)
        return response.ok and term.trace.cid2 == CID["TC"]

    def _run_scripts(self, term: Terminal, answer: Mapping[int, bytes], template: int) -> None:
        raw = answer.get(template)
        if raw is None:
            return
        items = tlv.decode(raw)
        script_id = next((i.value for i in items if i.tag == 0x9F18), bytes(4))[:4]
        result = _SCRIPT_OK
        commands = [i.value for i in items if i.tag == 0x86]
        for number, command in enumerate(commands, start=1):
            cla, ins, p1, p2 = command[:4]
            response = term.send(cla, ins, p1, p2, command[5 : 5 + command[4]], le=None)
            if response.sw1 not in (0x90, 0x62, 0x63):
                result = _SCRIPT_FAILED | min(number, 0x0F)
                break
        self.script_results.append(bytes([result]) + script_id.rjust(4, b"\x00"))

    def close(self) -> None:
        """Power the card off (a card file already holds every change)."""
        self.reader.disconnect()


_EXTRA_TAGS: Final = (0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41)
"""The optional field 55 tags of docs/standards/iso8583-cup.md §3 the terminal sends."""


@dataclasses.dataclass(frozen=True)
class Candidate:
    """An application the card's directory lists and the terminal supports."""

    aid: bytes
    label: str
    priority: int  # 87: b8 = cardholder confirmation required, b4-b1 = priority (1 highest)

    @property
    def confirm(self) -> bool:
        """The card asks the cardholder to confirm this application."""
        return bool(self.priority & 0x80)


Chooser = Callable[[list[Candidate]], int]
"""Asks the cardholder which of the listed applications to use (an index into the list)."""


def _candidate(entry: tlv.Tlv) -> Candidate | None:
    aid, label, priority = entry.find(0x4F), entry.find(0x50), entry.find(0x87)
    if aid is None or not any(aid.value.startswith(a) for a in AIDS):
        return None
    name = label.value.decode("ascii", "replace") if label is not None else aid.value.hex()
    rank = priority.value[0] if priority is not None and priority.value else 0x0F
    return Candidate(aid.value, name, rank)


def _directory_entries(item: tlv.Tlv) -> list[tlv.Tlv]:
    """The 61 entries under an FCI's proprietary template (A5 / BF0C)."""
    if item.tag == 0x61:
        return [item]
    found: list[tlv.Tlv] = []
    for child in item.children if item.constructed else ():
        found += _directory_entries(child)
    return found


def _set_bit(values: dict[int, bytes], index: int, bit: int) -> None:
    tvr = bytearray(values.get(0x95, bytes(5)))
    tvr[index] |= bit
    values[0x95] = bytes(tvr)


def _terminal_values(
    amount: int, transaction_type: int, data: TerminalData | None
) -> dict[int, bytes]:
    now = datetime.now(SHANGHAI)
    values = terminal_values(
        amount, un=secrets.token_bytes(4), date=now.strftime("%y%m%d"),
        transaction_type=transaction_type,
    )  # fmt: skip
    values[0x9F21] = bytes.fromhex(now.strftime("%H%M%S"))
    pin = data is None or data.pin_entered
    values.update({0x9F33: CAPABILITIES, 0x9F35: TERMINAL_TYPE, 0x9F09: APP_VERSION,
                   0x9F34: bytes.fromhex("420300" if pin else "3F0000")})  # fmt: skip
    _set_bit(values, *_TVR_NO_ODA)
    if pin:
        _set_bit(values, *_TVR_ONLINE_PIN)
    if data is not None:
        values[0x9F1E] = data.terminal_id.encode("ascii")[:8].ljust(8, b" ")
        values[0x9F41] = bytes.fromhex(data.stan.zfill(8)[-8:])
    return values
