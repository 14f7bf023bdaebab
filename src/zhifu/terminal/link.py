"""The terminal's line to its host: one TCP connection, one frame out, one frame back.

A response must come within the timeout with the request's MTI + 10 and STAN; otherwise the
exchange raises :class:`NoAnswerError` (the caller then reverses what needs reversing).
"""

from __future__ import annotations

import socket

from zhifu.core.errors import DecodeError, UsageError, ZhifuError
from zhifu.iso8583 import Header, Message, Tpdu, decode, encode_frame
from zhifu.iso8583.framing import receive_frame_body, unframe_body

__all__ = ["HostLink", "NoAnswerError", "parse_address"]

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


class HostLink:
    """A connection to the host (opened on first use, reopened after a failure)."""

    def __init__(self, address: tuple[str, int], timeout: float = 10.0) -> None:
        self.address = address
        self.timeout = timeout
        self._sock: socket.socket | None = None

    def close(self) -> None:
        """Close the connection."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection(self.address, timeout=self.timeout)
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
        frame = (
            encode_frame(request, TPDU, HEADER)
            if body is None
            else (len(body) + 11).to_bytes(2, "big") + TPDU.to_bytes() + HEADER.to_bytes() + body
        )
        try:
            sock.sendall(frame)
            received = unframe_body(receive_frame_body(sock))
            response = decode(received.message)
        except (OSError, NoAnswerError, DecodeError) as exc:
            self.close()
            if isinstance(exc, TimeoutError | socket.timeout):
                raise NoAnswerError(f"no answer within {self.timeout:g} s") from None
            raise NoAnswerError(str(exc) or type(exc).__name__) from None
        expected = request.mti[:2] + str(int(request.mti[2]) + 1) + request.mti[3]
        if response.mti != expected or response.get("11") != request.get("11"):
            self.close()
            raise NoAnswerError(f"asked {request.mti}, the host answered another message")
        return response, received.message
