"""The emulated PBOC 3.0 card: one APDU entry point over a card file.

:meth:`EmulatedCard.transmit` takes command APDU bytes and returns response data ‖ SW1 SW2;
it never raises, whatever the bytes: a malformed APDU answers ``6700``, an unknown class
``6E00``, an unknown instruction ``6D00`` (a script instruction without secure-messaging
class ``04``/``84`` answers ``6982``), and an unexpected internal fault ``6F00``. A card
file that cannot be written answers ``6581`` (memory failure) and the card forgets the
unsaved change. A card blocked by CARD BLOCK answers ``6A81`` to SELECT and to every
command outside an application selected before the block.

Each command that changes the card (GPO's ATC, VERIFY's try counter, GENERATE AC's
balance/counters/logs, EXTERNAL AUTHENTICATE's 9F13, scripts) saves the card file
atomically *before* its response is returned, so an ATC is never used twice even if the
process dies. What lives only in RAM (:class:`~zhifu.card.icc.base.Session`: selection,
path, PDOL/CDOL values, challenge, the ARQC awaiting its second GENERATE AC) is lost at
:meth:`EmulatedCard.power_on`, as on a real card. The ATC counts at GPO (one per
transaction, as VIS/PBOC cards do) and is the ATC of both cryptograms of the transaction.

Commands: SELECT ``00 A4``, READ RECORD ``00 B2``, GET DATA ``80 CA``, GPO ``80 A8``, VERIFY
``00 20``, GET CHALLENGE ``00 84``, INTERNAL AUTHENTICATE ``00 88``, GENERATE AC ``80 AE``,
EXTERNAL AUTHENTICATE ``00 82`` and the issuer scripts of :mod:`zhifu.card.icc.script`.
A response longer than a short Le (``01``..``FF``) answers ``6Cxx`` (T=0 style).

>>> card = EmulatedCard.example()
>>> card.power_on().hex().upper()
'3B8B80015A484946552D50424F433342'
>>> card.transmit(bytes.fromhex("00A404000E315041592E5359532E444446303100"))[-2:].hex()
'9000'
>>> card.transmit(bytes.fromhex("80CA9F7900")).hex().upper()  # no application selected
'6985'
>>> card.transmit(b"\\x00").hex().upper()
'6700'
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from zhifu.card.apdu import CommandApdu, StatusWord, wrong_le
from zhifu.card.icc import ac as icc_ac
from zhifu.card.icc import gpo as icc_gpo
from zhifu.card.icc import pin as icc_pin
from zhifu.card.icc import script as icc_script
from zhifu.card.icc import select as icc_select
from zhifu.card.icc.base import CardStatus, Session
from zhifu.card.image.model import DEFAULT_ATR, CardImage
from zhifu.core.errors import DecodeError
from zhifu.core.rng import RandomSource, SystemRandomSource

__all__ = ["DEFAULT_ATR", "EmulatedCard", "Interface"]

Interface = Literal["auto", "contact", "contactless"]
Handler = Callable[["EmulatedCard", CommandApdu], bytes]

_HANDLERS: dict[tuple[int, int], Handler] = {
    (0x00, 0xB2): icc_select.read_record,
    (0x80, 0xCA): icc_select.get_data,
    (0x00, 0x84): icc_select.get_challenge,
    (0x80, 0xA8): icc_gpo.get_processing_options,
    (0x00, 0x20): icc_pin.verify,
    (0x00, 0x88): icc_pin.internal_authenticate,
    (0x80, 0xAE): icc_ac.generate_ac,
    (0x00, 0x82): icc_ac.external_authenticate,
}
for _cla in (0x04, 0x84):
    for _ins in icc_script.SCRIPT_COMMANDS:
        _HANDLERS[(_cla, _ins)] = icc_script.issuer_script
_KNOWN_CLA = frozenset(cla for cla, _ in _HANDLERS)
_KNOWN_INS = frozenset(ins for _, ins in _HANDLERS) | {0xA4}


def atr_check_byte(atr_without_tck: bytes) -> int:
    """TCK: the XOR of every ATR byte after TS (ISO/IEC 7816-3 8.2.5)."""
    value = 0
    for byte in atr_without_tck[1:]:
        value ^= byte
    return value


class EmulatedCard:
    """A PBOC 3.0 card (debit/credit with e-cash, pure e-cash, qPBOC) over a card file.

    ``interface`` fixes the interface (``contact``: PSE and contact FCIs; ``contactless``:
    PPSE, contactless FCIs, qPBOC); ``auto`` lets SELECT PSE/PPSE decide. ``path`` is the
    card file to keep up to date (None: an in-memory card). ``random`` supplies GET
    CHALLENGE, ICC dynamic numbers and fDDA card UNs.
    """

    def __init__(
        self,
        image: CardImage,
        path: Path | str | None = None,
        *,
        interface: Interface = "auto",
        random: RandomSource | None = None,
    ) -> None:
        self.image = image
        self.path = None if path is None else Path(path)
        self.random: RandomSource = random if random is not None else SystemRandomSource()
        self.interface: Interface = interface
        self.session = self._new_session()
        self.powered = False

    def __repr__(self) -> str:
        return f"EmulatedCard(profile={self.image.profile!r}, interface={self.interface})"

    @classmethod
    def load(
        cls,
        path: Path | str,
        *,
        interface: Interface = "auto",
        random: RandomSource | None = None,
    ) -> EmulatedCard:
        """Open a card file (DecodeError if it is not a valid one)."""
        return cls(CardImage.load(path), path, interface=interface, random=random)

    @classmethod
    def example(cls) -> EmulatedCard:
        """An in-memory copy of the built-in ``pboc-reference`` card (for examples)."""
        from zhifu.card.issuing import reference_image  # noqa: PLC0415 - avoids a cycle

        return cls(reference_image())

    def save(self) -> None:
        """Write the card file now (nothing to do for an in-memory card)."""
        if self.path is not None:
            self.image.save(self.path)

    def commit(self) -> None:
        """Persist a state change before the response leaves the card."""
        self.save()

    def _new_session(self) -> Session:
        if self.interface == "auto":
            return Session()
        return Session(interface=self.interface, auto_interface=False)

    def power_on(self) -> bytes:
        """Cold reset: forget the RAM session and answer the ATR."""
        self.session = self._new_session()
        self.powered = True
        return self.image.atr

    def power_off(self) -> None:
        """Remove power: the RAM session is lost."""
        self.session = self._new_session()
        self.powered = False

    def transmit(self, apdu: bytes) -> bytes:
        """Process one command APDU; returns response data ‖ SW1 SW2 and never raises."""
        if not self.powered:
            self.power_on()
        try:
            data, sw = self._process(bytes(apdu))
        except CardStatus as status:
            data, sw = b"", status.sw
        except OSError:
            data, sw = b"", StatusWord.MEMORY_FAILURE
            self._forget_unsaved()
        except Exception:  # the chip answers every command, whatever happens inside
            data, sw = b"", StatusWord.NO_PRECISE_DIAGNOSIS
        return data + sw.to_bytes(2, "big")

    def _forget_unsaved(self) -> None:
        self.session = self._new_session()
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError):  # else it stays as it is in memory
                self.image = CardImage.load(self.path)

    def _process(self, apdu: bytes) -> tuple[bytes, int]:
        try:
            cmd = CommandApdu.decode(apdu)
        except (DecodeError, ValueError):
            raise CardStatus(StatusWord.WRONG_LENGTH) from None
        if cmd.cla not in _KNOWN_CLA:
            raise CardStatus(StatusWord.CLA_NOT_SUPPORTED)
        session = self.session
        blocked = self.image.card_blocked and session.app is None
        if cmd.ins == 0xA4 and cmd.cla == 0x00:
            return icc_select.select(self, cmd)
        if blocked and cmd.ins in _KNOWN_INS:
            raise CardStatus(StatusWord.FUNCTION_NOT_SUPPORTED)
        handler = _HANDLERS.get((cmd.cla, cmd.ins))
        if handler is None:
            if cmd.ins in icc_script.SCRIPT_COMMANDS and cmd.cla in (0x00, 0x80):
                raise CardStatus(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
            if cmd.ins in _KNOWN_INS:  # a known instruction under another class
                raise CardStatus(StatusWord.CLA_NOT_SUPPORTED)
            raise CardStatus(StatusWord.INS_NOT_SUPPORTED)
        data = handler(self, cmd)
        if cmd.le is not None and cmd.le < 256 and len(data) > cmd.le:
            return b"", wrong_le(len(data))
        return data, StatusWord.OK
