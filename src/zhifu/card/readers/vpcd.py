"""Serve an emulated card to ``pcscd`` through the vsmartcard ``vpcd`` reader driver.

The vpcd driver (Debian package ``vsmartcard-vpcd``) gives ``pcscd`` virtual readers, each
waiting on a TCP port for a card to connect (35963 for the first reader, 35964 for the
second, on every interface). :class:`VpcdCardServer` is that card: it connects to the port
and answers the driver's messages, so any PC/SC application (``pyscard``, ``opensc-tool``,
a real terminal kernel) sees the emulated card in a reader.

Wire protocol (docs/standards/card-terminal.md §5, from the vsmartcard source): every message, both
ways, is a 2-byte big-endian length followed by that many bytes. From the driver, a 1-byte message
is a control: ``00`` power off, ``01`` power on, ``02`` reset (no answer to these three),
``04`` get ATR (the card answers the ATR; the driver also uses it to poll for presence);
a longer message is a command APDU, answered by the response APDU (data ‖ SW1 SW2).

Limits: a frame must arrive whole within ``frame_timeout`` seconds once it has begun; a
frame longer than ``max_frame`` (default: the longest short APDU, 261 bytes) is read and
dropped in small pieces and answered ``6700`` (the card takes short APDUs only); an empty
frame, an unknown control byte or a truncated frame closes the connection (logged). The
log (``zhifu.card.readers.vpcd``) shows instruction bytes, lengths and status words, never APDU data
(a VERIFY carries a PIN block).

>>> from zhifu.card.icc.emulated import EmulatedCard
>>> card = EmulatedCard.example()
>>> answer(card, bytes([CTRL_POWER_ON])) is None
True
>>> answer(card, bytes([CTRL_GET_ATR])).hex().upper()
'3B8B80015A484946552D50424F433342'
>>> answer(card, bytes.fromhex("00A404000E315041592E5359532E444446303100"))[-2:].hex()
'9000'
>>> encode_frame(bytes([CTRL_GET_ATR])).hex()
'000104'
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol, Self

from zhifu.card.apdu import StatusWord
from zhifu.card.readers.base import ReaderError
from zhifu.core.errors import DecodeError, UsageError

if TYPE_CHECKING:
    from zhifu.card.icc.emulated import EmulatedCard

__all__ = [
    "CTRL_GET_ATR",
    "CTRL_POWER_OFF",
    "CTRL_POWER_ON",
    "CTRL_RESET",
    "DEFAULT_HOST",
    "MAX_FRAME",
    "VPCD_PORT",
    "ServedCard",
    "VpcdCardServer",
    "answer",
    "describe",
    "encode_frame",
]

VPCD_PORT: Final = 35963
DEFAULT_HOST: Final = "127.0.0.1"
CTRL_POWER_OFF: Final = 0x00
CTRL_POWER_ON: Final = 0x01
CTRL_RESET: Final = 0x02
CTRL_GET_ATR: Final = 0x04
MAX_FRAME: Final = 4 + 1 + 255 + 1
_CONTROL_NAMES: Final = {0x00: "power off", 0x01: "power on", 0x02: "reset", 0x04: "get ATR"}
_DISCARD_CHUNK: Final = 4096
_IDLE_POLL: Final = 0.25
_RETRY_DELAY: Final = 0.1

log = logging.getLogger("zhifu.card.readers.vpcd")


def encode_frame(payload: bytes) -> bytes:
    """A vpcd message: 2-byte big-endian length ‖ payload (1 to 65535 bytes)."""
    if not 1 <= len(payload) <= 0xFFFF:
        raise UsageError(f"{len(payload)} bytes, a frame holds 1 to 65535", argument="payload")
    return len(payload).to_bytes(2, "big") + bytes(payload)


def describe(payload: bytes) -> str:
    """What a message is, for the log: the control name, or an APDU's INS and length only.

    >>> describe(bytes.fromhex("0020008008241234FFFFFFFFFF"))
    'APDU INS 20, 13 bytes'
    """
    if len(payload) == 1:
        return f"control {payload[0]:02X} ({_CONTROL_NAMES.get(payload[0], 'unknown')})"
    ins = f"INS {payload[1]:02X}, " if len(payload) >= 2 else ""
    return f"APDU {ins}{len(payload)} bytes"


class ServedCard(Protocol):
    """What vpcd needs of a card: an emulated card, or one reached another way (a card in a
    terminal at the other end of a phone link, ``zhifu.sdk``)."""

    def transmit(self, apdu: bytes) -> bytes:
        """One command APDU; the response APDU."""

    def power_on(self) -> bytes:
        """Power up; the ATR."""

    def power_off(self) -> None:
        """Power down."""

    @property
    def atr(self) -> bytes:
        """The answer to reset."""


def answer(card: EmulatedCard | ServedCard, payload: bytes) -> bytes | None:
    """The card's answer to one message from vpcd; None when none is due.

    Raises DecodeError for an empty message or an unknown control byte.
    """
    if not payload:
        raise DecodeError("empty message", field="vpcd length", offset=0)
    if len(payload) > 1:
        return card.transmit(bytes(payload))
    control = payload[0]
    if control == CTRL_GET_ATR:  # no reset: the driver polls the ATR to see the card present
        return card.image.atr if hasattr(card, "image") else card.atr
    if control == CTRL_POWER_OFF:
        card.power_off()
    elif control in (CTRL_POWER_ON, CTRL_RESET):
        card.power_on()
    else:
        raise DecodeError(f"unknown control byte {control:02X}", field="vpcd control", offset=2)
    return None


class _ClosedError(Exception):
    """The peer closed the connection between two frames (a normal end)."""


class VpcdCardServer:
    """Connects an :class:`~zhifu.card.icc.EmulatedCard` to vpcd at ``host:port`` and serves it.

    :meth:`start` runs it in a background thread (:meth:`stop` ends it; also a context
    manager), :meth:`serve_forever` in the calling thread. The first connection is retried
    until ``connect_timeout`` seconds have passed (None: until stopped); after that,
    :attr:`error` holds a :class:`~zhifu.card.readers.base.ReaderError`. With ``reconnect`` the
    card is inserted again whenever the connection ends (pcscd restarted, malformed frame).
    The card belongs to the server thread while it is served.
    """

    def __init__(
        self,
        card: EmulatedCard | ServedCard,
        host: str = DEFAULT_HOST,
        port: int = VPCD_PORT,
        *,
        reconnect: bool = False,
        connect_timeout: float | None = 10.0,
        frame_timeout: float = 5.0,
        max_frame: int = MAX_FRAME,
    ) -> None:
        if not isinstance(port, int) or not 1 <= port <= 0xFFFF:
            raise UsageError("must be a TCP port, 1 to 65535", argument="port")
        if not 5 <= max_frame <= 0xFFFF:
            raise UsageError("must be 5 to 65535 bytes", argument="max_frame")
        if frame_timeout <= 0:
            raise UsageError("must be positive", argument="frame_timeout")
        self.card = card
        self.host = host
        self.port = port
        self.reconnect = reconnect
        self.connect_timeout = connect_timeout
        self.frame_timeout = frame_timeout
        self.max_frame = max_frame
        self.apdus = 0
        self.error: ReaderError | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._finished = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"VpcdCardServer(vpcd={self.host}:{self.port}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        """Whether the card is connected to vpcd (inserted in the virtual reader) now."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the connection; False if it did not come."""
        deadline = time.monotonic() + timeout
        while not self._connected.wait(min(_IDLE_POLL, max(0.0, deadline - time.monotonic()))):
            if self._finished.is_set() or time.monotonic() >= deadline:
                return False
        return True

    # -------------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Serve in a background (daemon) thread."""
        if self._thread is not None:
            raise UsageError("already started", argument="server")
        self._thread = threading.Thread(
            target=self._run, name=f"vpcd-card-{self.port}", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or the end of the connection without
        ``reconnect``); raises ReaderError if vpcd could not be reached."""
        self._run()
        if self.error is not None:
            raise self.error

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: close the connection and wait (up to ``timeout`` s) for the thread."""
        self._stopping.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("vpcd card thread did not stop within %.1f s", timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                sock = self._connect()
                if sock is None:
                    return
                self._serve(sock)
                if not self.reconnect or self._stopping.wait(_RETRY_DELAY):
                    return
        except ReaderError as exc:
            self.error = exc
            if self._thread is not None:  # serve_forever raises it instead
                log.error("%s", exc)
        finally:
            self._finished.set()

    def _connect(self) -> socket.socket | None:
        timeout = self.connect_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopping.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise ReaderError(
                        f"no vpcd at {self.host}:{self.port} after {timeout:g} s "
                        "(is pcscd running with the vsmartcard-vpcd driver?)"
                    ) from None
                self._stopping.wait(_RETRY_DELAY)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        return None

    # -------------------------------------------------------------------- one connection

    def _serve(self, sock: socket.socket) -> None:
        self._sock = sock
        self._connected.set()
        log.info("card connected to vpcd at %s:%d", self.host, self.port)
        try:
            while not self._stopping.is_set():
                self._one_frame(sock)
        except _ClosedError:
            log.info("vpcd closed the connection")
        except DecodeError as exc:
            log.warning("malformed vpcd frame, closing the connection: %s", exc)
        except OSError as exc:
            if not self._stopping.is_set():
                log.warning("vpcd link lost: %s", type(exc).__name__)
        finally:
            self._connected.clear()
            self._sock = None
            with contextlib.suppress(OSError):
                sock.close()
            self.card.power_off()  # the card leaves the reader
            log.info("card disconnected from vpcd at %s:%d", self.host, self.port)

    def _one_frame(self, sock: socket.socket) -> None:
        first = self._wait_first_byte(sock)
        if first is None:
            return
        deadline = time.monotonic() + self.frame_timeout
        length = int.from_bytes(first + _recv_exact(sock, 1, deadline, "vpcd length"), "big")
        if length == 0:
            raise DecodeError("empty message", field="vpcd length", offset=0)
        if length > self.max_frame:
            _discard(sock, length, deadline)
            log.warning("vpcd frame of %d bytes over the %d allowed: 6700", length, self.max_frame)
            self._send(sock, StatusWord.WRONG_LENGTH.to_bytes(2, "big"))
            return
        payload = _recv_exact(sock, length, deadline, "vpcd payload")
        response = answer(self.card, payload)
        if len(payload) > 1:
            self.apdus += 1
            log.debug(
                "%s -> %d bytes, SW %s", describe(payload), len(response or b""), _sw(response)
            )
        elif payload[0] != CTRL_GET_ATR:
            log.debug("%s", describe(payload))
        if response is not None:
            self._send(sock, response)

    def _wait_first_byte(self, sock: socket.socket) -> bytes | None:
        """The first byte of the next frame, or None when stopping; _ClosedError at end of file."""
        sock.settimeout(_IDLE_POLL)
        while not self._stopping.is_set():
            _quick_ack(sock)
            try:
                data = sock.recv(1)
            except TimeoutError:
                continue
            if not data:
                raise _ClosedError
            return data
        return None

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.settimeout(self.frame_timeout)
        sock.sendall(encode_frame(payload))


def _sw(response: bytes | None) -> str:
    return response[-2:].hex().upper() if response and len(response) >= 2 else "-"


def _quick_ack(sock: socket.socket) -> None:
    """Acknowledge at once (Linux): vpcd writes a frame's length and its payload separately, and a
    delayed acknowledgement of the first write held the second back about 40 ms per APDU."""
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _recv_exact(sock: socket.socket, n: int, deadline: float, field: str) -> bytes:
    """Exactly ``n`` bytes before ``deadline``, else DecodeError (truncated frame)."""
    data = bytearray()
    while len(data) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DecodeError(f"frame incomplete after {len(data)} of {n} bytes", field=field)
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(n - len(data), _DISCARD_CHUNK))
        except TimeoutError:
            continue
        if not chunk:
            raise DecodeError(f"connection closed after {len(data)} of {n} bytes", field=field)
        data += chunk
    return bytes(data)


def _discard(sock: socket.socket, n: int, deadline: float) -> None:
    """Read and drop ``n`` bytes, a small piece at a time."""
    left = n
    while left:
        left -= len(_recv_exact(sock, min(left, _DISCARD_CHUNK), deadline, "vpcd payload"))
