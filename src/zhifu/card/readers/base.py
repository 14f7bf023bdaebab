"""Card readers: one interface over the in-process emulated card and PC/SC readers.

A :class:`CardReader` powers a card up (:meth:`~CardReader.connect` answers the ATR), carries
raw command APDUs to it (:meth:`~CardReader.transmit` answers data ‖ SW1 SW2) and powers it
down (:meth:`~CardReader.disconnect`); as a context manager it connects on entry and
disconnects on exit. :class:`InProcessReader` calls an
:class:`~zhifu.card.icc.emulated.EmulatedCard` directly (the terminal and the tests use it);
:class:`zhifu.card.readers.pcsc.PcscReader` talks to any PC/SC reader through ``pcscd``.
:func:`exchange` adds the T=0 ``61xx``/``6Cxx`` handling on top of any reader.

Errors are :class:`ReaderError`; their messages name the reader and lengths, never APDU
bytes (a VERIFY carries a PIN block).

>>> from zhifu.card.icc.emulated import EmulatedCard
>>> with InProcessReader(EmulatedCard.example()) as reader:
...     print(reader.atr.hex().upper())
...     print(reader.transmit(bytes.fromhex("00A404000E315041592E5359532E444446303100"))[-2:].hex())
3B8B80015A484946552D50424F433342
9000
>>> reader.transmit(bytes.fromhex("0084000008"))
Traceback (most recent call last):
...
zhifu.card.readers.base.ReaderError: zhifu in-process: not connected (call connect() first)
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from zhifu.card.apdu import CommandApdu, ResponseApdu, transmit_t0
from zhifu.core.errors import ZhifuError

if TYPE_CHECKING:
    from zhifu.card.icc.emulated import EmulatedCard

__all__ = ["CardReader", "InProcessReader", "ReaderBase", "ReaderError", "exchange"]


class ReaderError(ZhifuError):
    """The reader cannot reach a card: no card, not connected, link lost, PC/SC failure."""


@runtime_checkable
class CardReader(Protocol):
    """What the terminal needs from a card reader (contact or contactless, local or PC/SC)."""

    @property
    def name(self) -> str:
        """The reader's name, e.g. ``'Virtual PCD 00 00'``."""
        ...

    def connect(self) -> bytes:
        """Power the card up (cold reset); returns its ATR."""
        ...

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; returns response data ‖ SW1 SW2 (no T=0 handling)."""
        ...

    def disconnect(self) -> None:
        """Power the card down; a second call does nothing."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class ReaderBase:
    """Context-manager plumbing and the ATR of the current session, for reader classes."""

    atr: bytes = b""

    def connect(self) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    def disconnect(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.disconnect()


class InProcessReader(ReaderBase):
    """A reader whose card is an :class:`~zhifu.card.icc.emulated.EmulatedCard` in this process.

    ``connect`` is a cold reset (the card's RAM session is lost, as when a real card is
    inserted); ``disconnect`` removes power. Not thread-safe: one caller at a time.
    """

    def __init__(self, card: EmulatedCard, name: str = "zhifu in-process") -> None:
        self.card = card
        self._name = name
        self.connected = False

    def __repr__(self) -> str:
        return f"InProcessReader(name={self._name!r}, connected={self.connected})"

    @property
    def name(self) -> str:
        """The reader's name."""
        return self._name

    def connect(self) -> bytes:
        """Power the card up; returns its ATR."""
        self.atr = self.card.power_on()
        self.connected = True
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU to the card; returns data ‖ SW1 SW2."""
        if not self.connected:
            raise ReaderError(f"{self._name}: not connected (call connect() first)")
        return self.card.transmit(bytes(apdu))

    def disconnect(self) -> None:
        """Power the card down."""
        if self.connected:
            self.card.power_off()
            self.connected = False
            self.atr = b""


def exchange(reader: CardReader, command: CommandApdu) -> ResponseApdu:
    """Send ``command`` through ``reader`` the T=0 way (GET RESPONSE on ``61xx``, resend on
    ``6Cxx``) and return the whole response.

    >>> from zhifu.card.icc.emulated import EmulatedCard
    >>> with InProcessReader(EmulatedCard.example()) as reader:
    ...     exchange(reader, CommandApdu(0x00, 0xA4, 0x04, 0x00, b"1PAY.SYS.DDF01", le=1))
    ResponseApdu(data=<38 bytes>, sw=9000)
    """
    try:
        return transmit_t0(reader.transmit, command)
    except ValueError as exc:  # DecodeError: no status word, or endless 61xx/6Cxx
        raise ReaderError(f"{reader.name}: bad response ({exc})") from None
