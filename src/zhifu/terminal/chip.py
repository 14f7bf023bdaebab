"""The card side of a contact PBOC transaction, as the terminal runs it.

SELECT the application, GET PROCESSING OPTIONS with the PDOL, READ RECORD what the AFL names,
first GENERATE AC asking for an ARQC with CDOL1; after the host's answer: EXTERNAL
AUTHENTICATE with the ARPC (tag 91), the issuer's scripts (tag 72: each command of tag 86 as
it comes), second GENERATE AC with CDOL2 (the ARC is the host's field 39): a TC when the card
accepts, an AAC when it declines. Offline data authentication is not done in this version;
cardholder verification is online PIN (docs/terminal.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from zhifu.card.icc.base import CID
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.scripted import ONLINE_TAGS, Terminal, terminal_values
from zhifu.codec import tlv
from zhifu.codec.pan import mask_pan
from zhifu.core.errors import UsageError

__all__ = ["CardFacts", "ChipSession"]


@dataclasses.dataclass(frozen=True, repr=False)
class CardFacts:
    """What the terminal reads from the card for the message (never printed)."""

    pan: str
    psn: str
    expiry: str
    track2: str

    def __repr__(self) -> str:
        return f"CardFacts({mask_pan(self.pan)})"

    @property
    def masked_pan(self) -> str:
        """First 6 and last 4 digits."""
        return mask_pan(self.pan)


class ChipSession:
    """One card in the reader for one transaction."""

    def __init__(self, path: Path | str) -> None:
        try:
            self.card = EmulatedCard.load(path)
        except OSError as exc:
            raise UsageError(
                f"cannot read the card file ({exc.strerror})", argument="--card"
            ) from None
        self.card.power_on()
        self.app = self.card.image.applications[0]
        self._term: Terminal | None = None
        self.script_results: list[int] = []

    def facts(self) -> CardFacts:
        """PAN, PSN, expiry (YYMM) and the track 2 equivalent as nibbles."""
        app = self.app
        pan = (app.internal(0x5A) or b"").hex().upper().rstrip("F")
        track = (app.internal(0x57) or b"").hex().upper().rstrip("F")
        expiry = (app.internal(0x5F24) or b"\x00\x00").hex()[:4]
        psn = (app.internal(0x5F34) or b"\x00").hex()
        if not pan or not track:
            raise UsageError("the card file has no PAN or track 2 equivalent", argument="--card")
        return CardFacts(pan, psn, expiry, track)

    def first_ac(self, amount: int, transaction_type: int) -> dict[int, bytes]:
        """SELECT … first GENERATE AC; the field 55 values (RuntimeError if the card declines)."""
        values = terminal_values(
            amount, transaction_type=transaction_type, un=self.card.random.bytes(4)
        )
        term = self._term = Terminal(self.card.transmit, values)
        fci, _ = term.select(self.app.aid)
        pdol = tlv.find(tlv.decode(fci), 0x9F38) if fci else None
        term.gpo(pdol.value if pdol is not None else b"")
        term.read_afl()
        for tag in (0x9F79,):
            response = term.send(0x80, 0xCA, tag >> 8, tag & 0xFF)
            if response.ok and response.data:
                found = tlv.find(tlv.decode(response.data), tag)
                if found is not None:
                    values[tag] = found.value
        answer = term.generate_ac(0x80, 0x8C)
        trace = term.trace
        if not answer.ok or trace.cid1 != CID["ARQC"]:
            raise RuntimeError(f"the card declined offline (SW {answer.sw:04X})")
        icc = {tag: values[tag] for tag in ONLINE_TAGS}
        icc.update(
            {
                0x9F26: trace.arqc,
                0x9F27: bytes([trace.cid1]),
                0x9F36: trace.atc,
                0x9F10: trace.iad,
                0x82: trace.aip,
                0x84: self.app.aid,
            }
        )
        if 0x9F79 in values:
            icc[0x9F79] = values[0x9F79]
        return icc

    def complete(self, field_39: str, answer: Mapping[int, bytes]) -> bool:
        """Issuer authentication, scripts and second GENERATE AC; True for a TC."""
        term = self._term
        assert term is not None, "first_ac comes first"
        arc = field_39.encode("ascii")[:2].ljust(2, b"0")
        issuer_data = answer.get(0x91)
        if issuer_data is not None and len(issuer_data) >= 10:
            term.send(0x00, 0x82, 0x00, 0x00, issuer_data[:10], le=None)
        script = answer.get(0x72)
        if script is not None:
            self._scripts(term, script)
        term.values[0x8A] = arc
        term.values[0x91] = issuer_data or b""
        response = term.generate_ac(0x40, 0x8D)
        return response.ok and term.trace.cid2 == CID["TC"]

    def _scripts(self, term: Terminal, script: bytes) -> None:
        for item in tlv.decode(script):
            if item.tag == 0x86 and len(item.value) >= 5:
                command = item.value
                response = term.send(
                    command[0],
                    command[1],
                    command[2],
                    command[3],
                    command[5 : 5 + command[4]],
                    le=None,
                )
                self.script_results.append(response.sw)

    def close(self) -> None:
        """Power the card off (its file holds every change already)."""
        self.card.power_off()
