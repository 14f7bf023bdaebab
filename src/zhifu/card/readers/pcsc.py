"""PC/SC readers (real or virtual) through ``pcscd`` and the ``pyscard`` package.

``pyscard`` is optional: it is imported only when a PC/SC function runs, and its absence
raises a :class:`~zhifu.card.readers.base.ReaderError` saying how to install it (``pip install
pyscard``; building it needs the ``libpcsclite-dev`` headers, and talking to readers needs
``pcscd``). The client library finds ``pcscd`` at ``/run/pcscd/pcscd.comm`` unless the
environment variable ``PCSCLITE_CSOCK_NAME`` names another socket; it reads the variable
once per process, at the first PC/SC call.

With the emulated card served by :class:`zhifu.card.readers.vpcd.VpcdCardServer`, the readers are
``Virtual PCD 00 00`` and ``Virtual PCD 00 01`` (Debian's vpcd configuration)::

    with PcscReader("Virtual PCD 00 00") as reader:
        fci = reader.transmit(bytes.fromhex("00A404000E325041592E5359532E444446303100"))

>>> PcscReader(0)
PcscReader(reader=0, connected=False)
"""

from __future__ import annotations

import contextlib
import importlib
import time
from typing import Any, Final, Literal

from zhifu.card.readers.base import ReaderBase, ReaderError
from zhifu.core.errors import UsageError

__all__ = ["PcscReader", "list_readers", "load_pyscard"]

INSTALL_HINT: Final = (
    "PC/SC needs the pyscard package: pip install pyscard (it builds against the PC/SC "
    "headers: apt-get install libpcsclite-dev; readers need the pcscd service: "
    "apt-get install pcscd)"
)
Protocol = Literal["any", "T0", "T1"]
_MAX_RESPONSE: Final = 65538


def load_pyscard() -> Any:
    """The ``smartcard.scard`` module of pyscard, or ReaderError with the install hint."""
    try:
        return importlib.import_module("smartcard.scard")
    except ImportError:
        raise ReaderError(INSTALL_HINT) from None


def _check(scard: Any, result: int, doing: str) -> None:
    if result != scard.SCARD_S_SUCCESS:
        if result == scard.SCARD_E_NO_SERVICE:
            raise ReaderError(f"{doing}: the PC/SC service is not running (start pcscd)")
        message = scard.SCardGetErrorMessage(result)
        raise ReaderError(f"{doing}: {message.strip()} (0x{result & 0xFFFFFFFF:08X})")


class _Context:
    """A PC/SC resource-manager context, released on exit."""

    def __init__(self) -> None:
        self.scard = load_pyscard()
        result, self.handle = self.scard.SCardEstablishContext(self.scard.SCARD_SCOPE_USER)
        _check(self.scard, result, "PC/SC context")

    def readers(self) -> list[str]:
        result, names = self.scard.SCardListReaders(self.handle, [])
        if result == self.scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        _check(self.scard, result, "listing readers")
        return [str(name) for name in names]

    def release(self) -> None:
        with contextlib.suppress(Exception):
            self.scard.SCardReleaseContext(self.handle)

    def __enter__(self) -> _Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def list_readers() -> list[str]:
    """The names of the PC/SC readers ``pcscd`` knows (empty list: none)."""
    with _Context() as context:
        return context.readers()


def _resolve(names: list[str], reader: str | int) -> str:
    if isinstance(reader, int):
        if 0 <= reader < len(names):
            return names[reader]
        raise ReaderError(f"no PC/SC reader number {reader} ({len(names)} readers)")
    if reader in names:
        return reader
    matches = [name for name in names if reader in name]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(repr(name) for name in names) or "none"
    raise ReaderError(f"no single PC/SC reader matches {reader!r} (readers: {known})")


class PcscReader(ReaderBase):
    """A :class:`~zhifu.card.readers.base.CardReader` on a PC/SC reader, chosen by name (exact, or
    a part of exactly one name) or by its index in :func:`list_readers`.

    ``protocol`` is the transmission protocol to ask for (``any``: T=0 or T=1, the reader
    chooses). ``exclusive`` keeps other PC/SC applications off the card while connected.
    :meth:`disconnect` powers the card down (``SCARD_UNPOWER_CARD``).
    """

    def __init__(
        self, reader: str | int = 0, *, protocol: Protocol = "any", exclusive: bool = False
    ) -> None:
        if not isinstance(reader, (str, int)):
            raise UsageError("must be a reader name or index", argument="reader")
        if protocol not in ("any", "T0", "T1"):
            raise UsageError("must be any, T0 or T1", argument="protocol")
        self.reader = reader
        self.protocol: Protocol = protocol
        self.exclusive = exclusive
        self._name = reader if isinstance(reader, str) else ""
        self._context: _Context | None = None
        self._card: Any = None
        self._active_protocol = 0

    def __repr__(self) -> str:
        return f"PcscReader(reader={self.reader!r}, connected={self.connected})"

    @property
    def name(self) -> str:
        """The reader's full name (known once resolved by connect or wait_for_card)."""
        return self._name or f"PC/SC reader {self.reader}"

    @property
    def connected(self) -> bool:
        """Whether a card session is open."""
        return self._card is not None

    def _protocols(self, scard: Any) -> int:
        t0, t1 = int(scard.SCARD_PROTOCOL_T0), int(scard.SCARD_PROTOCOL_T1)
        return {"any": t0 | t1, "T0": t0, "T1": t1}[self.protocol]

    def wait_for_card(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until the reader exists and holds a card."""
        load_pyscard()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if self._card_present(max(0, int(min(remaining, 1.0) * 1000))):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _card_present(self, wait_ms: int) -> bool:
        try:
            context = _Context()
        except ReaderError:  # pcscd not (yet) running
            return False
        with context:
            try:
                name = _resolve(context.readers(), self.reader)
            except ReaderError:
                return False
            self._name = name
            scard = context.scard
            states = [(name, scard.SCARD_STATE_UNAWARE)]
            result, states = scard.SCardGetStatusChange(context.handle, 0, states)
            if result == scard.SCARD_S_SUCCESS and states[0][1] & scard.SCARD_STATE_PRESENT:
                return True
            result, states = scard.SCardGetStatusChange(context.handle, wait_ms, states)
            present = result == scard.SCARD_S_SUCCESS and states[0][1] & scard.SCARD_STATE_PRESENT
            return bool(present)

    def connect(self) -> bytes:
        """Connect to the card in the reader (powering it up); returns its ATR."""
        self.disconnect()
        context = _Context()
        try:
            scard = context.scard
            self._name = _resolve(context.readers(), self.reader)
            share = scard.SCARD_SHARE_EXCLUSIVE if self.exclusive else scard.SCARD_SHARE_SHARED
            result, card, active = scard.SCardConnect(
                context.handle, self._name, share, self._protocols(scard)
            )
            _check(scard, result, f"connecting to {self._name!r}")
            result, _, _, _, atr = scard.SCardStatus(card)
            if result != scard.SCARD_S_SUCCESS:
                scard.SCardDisconnect(card, scard.SCARD_UNPOWER_CARD)
                _check(scard, result, f"reading the ATR in {self._name!r}")
        except BaseException:
            context.release()
            raise
        self._context, self._card, self._active_protocol = context, card, active
        self.atr = bytes(atr)
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; returns data ‖ SW1 SW2."""
        if self._context is None or self._card is None:
            raise ReaderError(f"{self.name}: not connected (call connect() first)")
        scard = self._context.scard
        result, response = scard.SCardTransmit(self._card, self._active_protocol, list(apdu))
        _check(scard, result, f"{self.name}: transmitting a {len(apdu)}-byte APDU")
        data = bytes(response)
        if not 2 <= len(data) <= _MAX_RESPONSE:
            raise ReaderError(f"{self.name}: {len(data)}-byte response, no status word")
        return data

    def disconnect(self) -> None:
        """Power the card down and release the PC/SC context."""
        context, card = self._context, self._card
        self._context, self._card, self.atr = None, None, b""
        if context is not None:
            if card is not None:
                with contextlib.suppress(Exception):
                    context.scard.SCardDisconnect(card, context.scard.SCARD_UNPOWER_CARD)
            context.release()
