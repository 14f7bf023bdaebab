"""One end of the link on real pipes: :class:`~zhifu.device.link.LinkState` driven by a
clock, over a list of transports — when one goes down, the next takes over and the frame in
flight is resent on it (adaptive switching: USB first, then audio). When the last one goes
down, ``reconnect`` (if given) is asked for a new pipe — the cable plugged in again — and the
link resumes on it where it stopped: the frame in flight is resent, the sequence numbers of
both ends are kept, so a frame that had arrived is acknowledged again and not delivered twice.

>>> import socket
>>> from zhifu.device.transport import UsbTransport
>>> a, b = socket.socketpair()
>>> host, terminal = Endpoint([UsbTransport(a, host=True)]), Endpoint([UsbTransport(b, host=False)])
>>> import threading
>>> t = threading.Thread(target=lambda: host.send(0x04))
>>> t.start(); frame = terminal.receive(2.0); t.join()
>>> frame.cmd, host.state.busy
(4, False)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from zhifu.device.frame import FLAG_MORE, MAX_PAYLOAD, Frame
from zhifu.device.link import LinkError, LinkState
from zhifu.device.transport import LinkDownError, Transport

__all__ = ["Endpoint"]

_POLL = 0.01


class Endpoint:
    """Send frames reliably, receive the ones delivered, switch transports when one fails."""

    def __init__(
        self, transports: Sequence[Transport], *, timeout: float = 0.25, retries: int = 8,
        clock: Callable[[], float] = time.monotonic,
        reconnect: Callable[[], Transport | None] | None = None,
    ) -> None:  # fmt: skip
        if not transports:
            raise LinkError("an endpoint needs a transport")
        self.transports = list(transports)
        self.state = LinkState(timeout=timeout, retries=retries)
        self.clock = clock
        self.reconnect = reconnect
        self.inbox: list[Frame] = []
        self.switched: list[str] = []
        self._partial: dict[int, bytes] = {}

    @property
    def transport(self) -> Transport:
        """The transport in use."""
        if not self.transports:
            raise LinkDownError("no transport is left")
        return self.transports[0]

    def _switch(self) -> None:
        gone = self.transports.pop(0)
        gone.close()
        if not self.transports and self.reconnect is not None:
            fresh = self.reconnect()  # the cable again, or None: give up
            if fresh is not None:
                self.transports.append(fresh)
        if not self.transports:
            raise LinkDownError(f"{gone.name} is down and no other transport is left")
        self.switched.append(f"{gone.name}->{self.transport.name}")
        self._write(self.state.resume(now=self.clock()))

    def _write(self, data: bytes) -> None:
        while data:
            try:
                self.transport.write(data)
                return
            except LinkDownError:
                self._switch()

    def _pump(self, wait: float) -> None:
        try:
            data = self.transport.read(wait)
        except LinkDownError:
            self._switch()
            return
        now = self.clock()
        delivered, back = self.state.feed(data, now=now)
        for frame in delivered:  # a long message comes in pieces flagged 02 but the last
            whole = self._partial.pop(frame.cmd, b"") + frame.payload
            if frame.flags & FLAG_MORE:
                self._partial[frame.cmd] = whole
            else:
                self.inbox.append(Frame(frame.seq, frame.cmd, whole, frame.flags))
        self._write(back + self.state.tick(now=now))

    def send(self, cmd: int, payload: bytes = b"") -> None:
        """Send one message — in pieces of at most 1,024 bytes, flagged ``02`` but the last —
        and wait for each ACK (LinkTimeoutError, LinkDownError)."""
        pieces = [payload[at : at + MAX_PAYLOAD] for at in range(0, len(payload), MAX_PAYLOAD)]
        for number, piece in enumerate(pieces or [b""], start=1):
            while self.state.busy:
                self._pump(_POLL)
            flags = FLAG_MORE if number < len(pieces) else 0
            self._write(self.state.send(cmd, piece, now=self.clock(), flags=flags))
            while self.state.busy:
                self._pump(_POLL)

    def receive(self, timeout: float) -> Frame | None:
        """The next frame delivered within ``timeout`` (None when none came)."""
        deadline = self.clock() + timeout
        while not self.inbox:
            left = deadline - self.clock()
            if left <= 0:
                return None
            self._pump(min(_POLL, left))
        return self.inbox.pop(0)

    def close(self) -> None:
        """Close every transport."""
        for transport in self.transports:
            transport.close()
