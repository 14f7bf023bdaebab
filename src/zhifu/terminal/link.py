"""The terminal's line to its host: one TCP connection, one frame out, one frame back.

A response must come within the timeout with the request's MTI + 10 and STAN; otherwise the
exchange raises :class:`NoAnswerError` (the caller then reverses what needs reversing).
:class:`HostLink` blocks; :class:`AsyncHostLink` is the same on asyncio streams.

>>> parse_address("127.0.0.1:5800")
('127.0.0.1', 5800)
>>> response_mti("0200"), response_mti("0400"), response_mti("0620")
('0210', '0410', '0630')
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from typing import Protocol

from zhifu.core.errors import DecodeError, UsageError, ZhifuError
from zhifu.iso8583 import Header, Message, Tpdu, decode, encode_frame
from zhifu.iso8583.framing import read_frame_body, receive_frame_body, unframe_body

__all__ = [
    "AsyncHostLink",
    "Exchanger",
    "HostLink",
    "NoAnswerError",
    "RelayLink",
    "parse_address",
    "response_mti",
]

TPDU = Tpdu("6000030000")
HEADER = Header("613100311108")


class NoAnswerError(ZhifuError):
    """No (usable) answer from the host: timeout, closed or reset connection, wrong frame."""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (UsageError naming ``--host``)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"expected HOST:PORT, got {text!r}", argument="--host")
    return host, int(port)


def response_mti(mti: str) -> str:
    """The MTI of the answer to ``mti`` (the function digit + 1)."""
    return mti[:2] + str(int(mti[2]) + 1) + mti[3]


def _frame(request: Message, body: bytes | None) -> bytes:
    if body is None:
        return encode_frame(request, TPDU, HEADER)
    return (len(body) + 11).to_bytes(2, "big") + TPDU.to_bytes() + HEADER.to_bytes() + body


def _answer(request: Message, frame_body: bytes) -> tuple[Message, bytes]:
    received = unframe_body(frame_body)
    response = decode(received.message)
    if response.mti != response_mti(request.mti) or response.get("11") != request.get("11"):
        raise NoAnswerError(f"asked {request.mti}, the host answered another message")
    return response, received.message


class Exchanger(Protocol):
    """What the flow needs of a way to the host: one exchange at a time."""

    def exchange(self, request: Message, body: bytes | None = None) -> tuple[Message, bytes]:
        """Send ``request`` and return the response and its message bytes."""

    def close(self) -> None:
        """Let go of the connection."""


class RelayLink:
    """The host reached through another party that carries the frames (the phone driving a
    mini mPOS: ``zhifu.terminal.phone``). ``carry`` takes the whole frame to send and returns
    the host's answer frame without its length, or raises :class:`NoAnswerError`."""

    def __init__(self, carry: Callable[[bytes], bytes]) -> None:
        self._carry = carry

    def exchange(self, request: Message, body: bytes | None = None) -> tuple[Message, bytes]:
        """Send ``request`` through the carrier."""
        try:
            return _answer(request, self._carry(_frame(request, body)))
        except DecodeError as exc:
            raise NoAnswerError(str(exc)) from None

    def close(self) -> None:
        """Nothing to release."""


class HostLink:
    """A connection to the host (opened on first use, reopened after a failure)."""

    def __init__(
        self, address: tuple[str, int], timeout: float = 10.0, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.tls = tls
        self._sock: socket.socket | None = None

    def close(self) -> None:
        """Close the connection."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            try:
                sock = socket.create_connection(self.address, timeout=self.timeout)
                if self.tls is not None:
                    try:
                        sock = self.tls.wrap_socket(sock, server_hostname=self.address[0])
                    except OSError:
                        sock.close()  # a failed handshake leaves no half-open connection
                        raise
                self._sock = sock
            except OSError as exc:
                raise NoAnswerError(
                    f"cannot reach the host {self.address[0]}:{self.address[1]} "
                    f"({exc.strerror or exc})"
                ) from None
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._sock

    def exchange(self, request: Message, body: bytes | None = None) -> tuple[Message, bytes]:
        """Send ``request`` (its encoded message ``body`` when given, e.g. MACed) and return
        the response and its message bytes."""
        sock = self._connect()
        try:
            sock.sendall(_frame(request, body))
            return _answer(request, receive_frame_body(sock))
        except (OSError, NoAnswerError, DecodeError) as exc:
            self.close()
            if isinstance(exc, TimeoutError | socket.timeout):
                raise NoAnswerError(f"no answer within {self.timeout:g} s") from None
            raise NoAnswerError(str(exc) or type(exc).__name__) from None


class AsyncHostLink:
    """:class:`HostLink` on asyncio streams: many terminals share one event loop."""

    def __init__(
        self, address: tuple[str, int], timeout: float = 10.0, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.tls = tls
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def close(self) -> None:
        """Close the connection."""
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            host, port = self.address
            try:
                self._streams = await asyncio.wait_for(
                    asyncio.open_connection(host, port, ssl=self.tls), self.timeout
                )
            except (OSError, TimeoutError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                raise NoAnswerError(f"cannot reach the host {host}:{port} ({reason})") from None
        return self._streams

    async def exchange(self, request: Message, body: bytes | None = None) -> tuple[Message, bytes]:
        """As :meth:`HostLink.exchange`."""
        reader, writer = await self._connect()
        try:
            writer.write(_frame(request, body))
            await writer.drain()
            frame_body = await asyncio.wait_for(read_frame_body(reader), self.timeout)
            if frame_body is None:
                raise NoAnswerError("the host closed the connection")
            return _answer(request, frame_body)
        except (OSError, TimeoutError, NoAnswerError, DecodeError) as exc:
            await self.close()
            if isinstance(exc, TimeoutError):
                raise NoAnswerError(f"no answer within {self.timeout:g} s") from None
            raise NoAnswerError(str(exc) or type(exc).__name__) from None
