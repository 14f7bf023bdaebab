"""A scripted terminal: drives a card through fixed APDU flows (tests, benchmarks, examples).

Not an EMV kernel (no CVM list, TVR or terminal risk management): it sends the commands of
a contact transaction in order with fixed terminal data, plays the issuer with the card's
MK-AC when given one, and records every exchange. ``send`` is any APDU transport, e.g.
:meth:`zhifu.card.icc.emulated.EmulatedCard.transmit`.

>>> from zhifu.card.icc.emulated import EmulatedCard
>>> card = EmulatedCard.example()
>>> trace = contact_transaction(card.transmit, amount=1000, pin="1234")
>>> [f"{sw:04X}" for _, sw in trace.steps][:3], trace.cid1, trace.cid2
(['9000', '9000', '9000'], 128, 64)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from zhifu.card.apdu import CommandApdu, ResponseApdu
from zhifu.card.icc.base import CID
from zhifu.card.icc.select import PSE
from zhifu.card.image.model import n12
from zhifu.codec import tlv
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.pinblock import encode_pinblock_iso_2

__all__ = [
    "ONLINE_TAGS",
    "Terminal",
    "Trace",
    "contact_transaction",
    "online_request_data",
    "terminal_values",
]

Send = Callable[[bytes], bytes]


def terminal_values(
    amount: int,
    *,
    sm: bool = False,
    ec: bool = False,
    un: bytes = bytes.fromhex("12345678"),
    date: str = "261125",
    transaction_type: int = 0x00,
) -> dict[int, bytes]:
    """Fixed terminal data for PDOL/CDOL (CNY, China, the given amount in fen)."""
    return {
        0x9F02: n12(amount),
        0x9F03: n12(0),
        0x9F1A: bytes.fromhex("0156"),
        0x95: bytes(5),
        0x5F2A: bytes.fromhex("0156"),
        0x9A: bytes.fromhex(date),
        0x9F21: bytes.fromhex("120000"),
        0x9C: bytes([transaction_type]),
        0x9F37: un,
        0x9F66: bytes.fromhex("26000000"),
        0x9F7A: b"\x01" if ec else b"\x00",
        0x9F4E: b"ZHIFU TEST MERCHANT".ljust(20, b" "),
        0xDF69: b"\x01" if sm else b"\x00",
        0xDF60: b"\x00",
    }


@dataclass
class Trace:
    """What a scripted transaction saw: every (command, status word) and the key answers."""

    steps: list[tuple[bytes, int]] = field(default_factory=list)
    records: dict[tuple[int, int], bytes] = field(default_factory=dict)
    aip: bytes = b""
    afl: bytes = b""
    cid1: int | None = None
    cid2: int | None = None
    atc: bytes = b""
    arqc: bytes = b""
    iad: bytes = b""
    values: dict[int, bytes] = field(default_factory=dict)
    exchanged: bytes = b""  # PDOL data and CDOL data as sent (a CDA hash's input)
    tc: bytes = b""  # the cryptogram of the second GENERATE AC
    sdad: bytes = b""  # 9F4B of a format 2 (CDA) GENERATE AC answer
    signed_tlvs: bytes = b""  # that answer's objects but 9F4B, in order


class Terminal:
    """Builds and sends commands, keeping the exchanges in a :class:`Trace`."""

    def __init__(self, send: Send, values: Mapping[int, bytes]) -> None:
        self._send = send
        self.values = dict(values)
        self.trace = Trace(values=self.values)
        self._objects: dict[int, bytes] | None = None  # the records' data objects, once read
        self._counted = 0

    def send(
        self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", *, le: int | None = 256
    ) -> ResponseApdu:
        """One exchange (short APDU); returns the response."""
        command = CommandApdu(cla, ins, p1, p2, data, le).encode()
        response = ResponseApdu.decode(self._send(command))
        self.trace.steps.append((command, response.sw))
        return response

    def select(self, name: bytes) -> tuple[bytes, int]:
        """SELECT by name; returns (FCI, SW)."""
        response = self.send(0x00, 0xA4, 0x04, 0x00, name)
        return response.data, response.sw

    def gpo(self, pdol: bytes) -> ResponseApdu:
        """GET PROCESSING OPTIONS with the PDOL data built from :attr:`values`."""
        data = tlv.build_dol_data(pdol, self.values)
        self.trace.exchanged = data
        response = self.send(0x80, 0xA8, 0x00, 0x00, tlv.Tlv(0x83, data).encode())
        if response.ok and response.data[:1] == b"\x80":
            body = tlv.decode(response.data)[0].value
            self.trace.aip, self.trace.afl = body[:2], body[2:]
        elif response.ok:
            found = tlv.to_dict(tlv.decode(response.data))
            self.trace.aip, self.trace.afl = found.get("82", b""), found.get("94", b"")
        return response

    def read_afl(self) -> None:
        """READ RECORD every record the AFL names."""
        afl = self.trace.afl
        for i in range(0, len(afl) - 3, 4):
            sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
            for number in range(first, last + 1):
                response = self.send(0x00, 0xB2, number, sfi << 3 | 4)
                if response.ok:
                    self.trace.records[(sfi, number)] = response.data
        self._objects = None

    def card_object(self, tag: int) -> bytes | None:
        """A primitive data object from the records read so far (the first record with it)."""
        if self._objects is None or len(self.trace.records) != self._counted:
            objects: dict[int, bytes] = {}
            for record in self.trace.records.values():
                for name, value in tlv.to_dict(tlv.decode(record)).items():
                    objects.setdefault(int(name, 16), value)
            self._objects, self._counted = objects, len(self.trace.records)
        return self._objects.get(tag)

    def generate_ac(self, p1: int, dol_tag: int) -> ResponseApdu:
        """GENERATE AC with the data of CDOL1 (``8C``) or CDOL2 (``8D``)."""
        dol = self.card_object(dol_tag) or b""
        data = tlv.build_dol_data(dol, self.values)
        self.trace.exchanged += data
        response = self.send(0x80, 0xAE, p1, 0x00, data)
        if response.ok and response.data[:1] == b"\x80":
            body = tlv.decode(response.data)[0].value
            cid, self.trace.atc, ac, self.trace.iad = body[0], body[1:3], body[3:11], body[11:]
            self._note(dol_tag, cid, ac)
        elif response.ok and response.data[:1] == b"\x77":  # format 2: CDA, the AC signed
            items = tlv.decode(response.data)[0].children
            found = {item.tag: item.value for item in items}
            self.trace.sdad = found.get(0x9F4B, b"")
            self.trace.signed_tlvs = b"".join(i.encode() for i in items if i.tag != 0x9F4B)
            self.trace.atc, self.trace.iad = found.get(0x9F36, b""), found.get(0x9F10, b"")
            self._note(dol_tag, (found.get(0x9F27) or b"\x00")[0], b"")
        return response

    def _note(self, dol_tag: int, cid: int, ac: bytes) -> None:
        if dol_tag == 0x8C:
            self.trace.cid1, self.trace.arqc = cid, ac
        else:
            self.trace.cid2, self.trace.tc = cid, ac


def contact_transaction(
    send: Send,
    *,
    amount: int,
    pin: str | None = None,
    sm: bool = False,
    mk_ac: bytes | None = None,
    arc: bytes = b"00",
    aid: bytes = bytes.fromhex("A000000333010101"),
    ask: int = 0x80,
) -> Trace:
    """SELECT PSE/AID -> GPO -> READ RECORD (AFL) -> GET DATA -> VERIFY -> GENERATE AC ->
    EXTERNAL AUTHENTICATE (with ``mk_ac``) -> GENERATE AC 2 (when the card asked online).

    ``ask`` is the first GENERATE AC P1 (``80`` ARQC, ``40`` TC); ``arc`` the issuer's
    answer code for CDOL2.
    """
    values = terminal_values(amount, sm=sm)
    values[0x8A] = arc
    term = Terminal(send, values)
    term.select(PSE)
    fci, _ = term.select(aid)
    pdol_item = tlv.find(tlv.decode(fci), 0x9F38) if fci else None
    term.gpo(pdol_item.value if pdol_item is not None else b"")
    term.read_afl()
    for tag in (0x9F79, 0x9F36, 0x9F17, 0x9F13):
        term.send(0x80, 0xCA, tag >> 8, tag & 0xFF)
    if pin is not None:
        term.send(0x00, 0x20, 0x00, 0x80, encode_pinblock_iso_2(pin), le=None)
    first = term.generate_ac(ask, 0x8C)
    if not first.ok or term.trace.cid1 != CID["ARQC"]:
        return term.trace
    if mk_ac is not None:
        cipher = Cipher.SM4 if sm else Cipher.TDES
        sk = emv.derive_pboc_session_key(cipher, mk_ac, term.trace.atc)
        arpc = emv.generate_arpc_method_1(cipher, sk, term.trace.arqc, arc)
        term.send(0x00, 0x82, 0x00, 0x00, arpc + arc, le=None)
    term.generate_ac(0x40, 0x8D)
    return term.trace


ONLINE_TAGS = (0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37)
"""Terminal data objects an online request carries in field 55 beside the card's answer."""


def online_request_data(
    send: Send,
    amount: int,
    *,
    aid: bytes = bytes.fromhex("A000000333010101"),
    un: bytes = bytes.fromhex("12345678"),
    sm: bool = False,
    transaction_type: int = 0x00,
) -> dict[int, bytes]:
    """SELECT, GPO, READ RECORD, first GENERATE AC asking for an ARQC: the field 55 values.

    Returns tag -> value: the terminal's data (:data:`ONLINE_TAGS`) and the card's 9F26 (the
    ARQC), 9F27, 9F36, 9F10 and 82. Raises :class:`RuntimeError` when the card declines.

    >>> from zhifu.card.icc.emulated import EmulatedCard
    >>> icc = online_request_data(EmulatedCard.example().transmit, 1000)
    >>> len(icc[0x9F26]), icc[0x9F27].hex()
    (8, '80')
    """
    values = terminal_values(amount, sm=sm, un=un, transaction_type=transaction_type)
    term = Terminal(send, values)
    fci, _ = term.select(aid)
    pdol = tlv.find(tlv.decode(fci), 0x9F38) if fci else None
    term.gpo(pdol.value if pdol is not None else b"")
    term.read_afl()
    response = term.generate_ac(0x80, 0x8C)
    trace = term.trace
    if not response.ok or trace.cid1 != CID["ARQC"]:
        raise RuntimeError(f"the card did not ask to go online (SW {response.sw:04X})")
    icc = {tag: values[tag] for tag in ONLINE_TAGS}
    icc.update({0x9F26: trace.arqc, 0x9F27: bytes([trace.cid1]), 0x9F36: trace.atc,
                0x9F10: trace.iad, 0x82: trace.aip})  # fmt: skip
    return icc
