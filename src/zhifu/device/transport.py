"""Byte pipes for the link: USB (CCID messages on a stream socket, which stands in for the bulk
pipes) and the audio jack (the modem's PCM on a stream socket, which stands in for the cable).

A transport's :meth:`read` returns the link bytes that arrived within ``timeout`` (``b""``
when none did) and raises :class:`LinkDownError` when the pipe is gone; :meth:`write` sends
link bytes (LinkDownError when it cannot).
"""

from __future__ import annotations

import select
import socket
from typing import Protocol

import numpy as np

from zhifu.device.audio.channel import impair
from zhifu.device.audio.modem import ModemConfig, demodulate, modulate
from zhifu.device.ccid import CcidError, data_block, parse_messages, xfr_block
from zhifu.device.link import LinkError

__all__ = ["AudioTransport", "LinkDownError", "Transport", "UsbTransport"]


class LinkDownError(LinkError):
    """The pipe under the link is gone (cable pulled, app closed)."""


class Transport(Protocol):
    """What the link needs of a pipe."""

    name: str

    def write(self, data: bytes) -> None:
        """Send link bytes."""

    def read(self, timeout: float) -> bytes:
        """The link bytes that arrived within ``timeout``."""

    def close(self) -> None:
        """Let go of the pipe."""


class _SocketPipe:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise LinkDownError(f"the pipe is gone ({exc})") from None

    def fill(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                return
            data = self.sock.recv(65536)
        except (OSError, ValueError) as exc:
            raise LinkDownError(f"the pipe is gone ({exc})") from None
        if not data:
            raise LinkDownError("the other end closed the pipe")
        self.buffer += data

    def close(self) -> None:
        self.sock.close()


class UsbTransport:
    """CCID bulk messages: the host sends XfrBlock, the terminal DataBlock."""

    name = "usb"

    def __init__(self, sock: socket.socket, *, host: bool) -> None:
        self._pipe, self._host, self._seq = _SocketPipe(sock), host, 0
        self.errors: list[CcidError] = []

    def write(self, data: bytes) -> None:
        """One CCID message with ``data``."""
        if not data:
            return
        self._seq = (self._seq + 1) % 256
        wrap = xfr_block if self._host else data_block
        self._pipe.send(wrap(self._seq, data))

    def read(self, timeout: float) -> bytes:
        """The data of the whole CCID messages that arrived."""
        self._pipe.fill(timeout)
        try:
            found = parse_messages(self._pipe.buffer)
        except CcidError as exc:  # a broken message: dropped (the link resends what it lost)
            self.errors.append(exc)
            self._pipe.buffer = b""
            return b""
        if not found:
            return b""
        self._pipe.buffer = found[-1][1]
        return b"".join(message.data for message, _ in found)

    def close(self) -> None:
        """Close the socket."""
        self._pipe.close()


class AudioTransport:
    """The modem's sound: each write is one burst of PCM (float32, length-prefixed on the
    socket); each burst read is demodulated, optionally after noise at ``snr_db``."""

    name = "audio"

    def __init__(
        self, sock: socket.socket, *, config: ModemConfig | None = None,
        snr_db: float | None = None, seed: int = 0,
    ) -> None:  # fmt: skip
        self._pipe, self.config, self.snr_db = _SocketPipe(sock), config or ModemConfig(), snr_db
        self._rng = np.random.default_rng(seed)

    def write(self, data: bytes) -> None:
        """Modulate ``data`` and play it."""
        if not data:
            return
        pcm = modulate(data, self.config).astype("<f4").tobytes()
        self._pipe.send(len(pcm).to_bytes(4, "big") + pcm)

    def read(self, timeout: float) -> bytes:
        """Demodulate the bursts heard."""
        self._pipe.fill(timeout)
        out = bytearray()
        while len(self._pipe.buffer) >= 4:
            size = int.from_bytes(self._pipe.buffer[:4], "big")
            if len(self._pipe.buffer) < 4 + size:
                break
            pcm = np.frombuffer(self._pipe.buffer[4 : 4 + size], dtype="<f4").astype(float)
            self._pipe.buffer = self._pipe.buffer[4 + size :]
            if self.snr_db is not None:
                pcm = impair(pcm, self._rng, snr_db=self.snr_db)
            out += demodulate(pcm, self.config)
        return bytes(out)

    def close(self) -> None:
        """Close the socket."""
        self._pipe.close()
