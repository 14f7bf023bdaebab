"""Stop-and-wait delivery over any byte pipe: sequence numbers, ACK/NAK, retransmission.

:class:`LinkState` is the protocol without I/O (so a test can drive it with a simulated clock
and a lossy pipe): :meth:`~LinkState.send` gives the bytes to write for a message,
:meth:`~LinkState.feed` takes the bytes that arrived and gives the messages delivered and the
bytes to write back (ACKs, NAKs, retransmissions), :meth:`~LinkState.tick` retransmits the
unacknowledged frame when its time is up. One frame is in flight per direction.

Receiving: a whole frame with the next sequence number is delivered and ACKed; the previous
one again (its ACK was lost) is ACKed again and not delivered (:class:`DuplicateFrameError`,
counted in :attr:`~LinkState.duplicates`); any other number is refused
(:class:`ReplayedFrameError`: an old frame played back, or a peer that restarted without
``RESUME``); a frame that fails its checks gets a NAK with the reason of its error class
(:data:`~zhifu.device.commands.NAK_REASONS`). A partial frame still waiting for the rest its
length announced after a whole ``timeout`` had its length damaged: it is dropped
(:class:`~zhifu.device.frame.TruncatedFrameError`, NAK ``02``) and the bytes behind its start
are searched again, so the retransmissions queued behind it are found. Sending: a silent
``timeout`` resends the frame (flag ``01``), at most ``retries`` times, then
:class:`LinkTimeoutError`; a NAK resends it at once (up to ``retries`` NAKs too). After a
reconnect, :meth:`~LinkState.resume` resends the frame in flight, so a half-finished exchange
goes on.

>>> a, b = LinkState(), LinkState()
>>> wire = a.send(0x10, b"hello", now=0.0)
>>> delivered, back = b.feed(wire, now=0.01)
>>> [f.payload for f in delivered], a.feed(back, now=0.02)[0], a.busy
([b'hello'], [], False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zhifu.core.errors import ZhifuError
from zhifu.device.commands import ACK, NAK
from zhifu.device.frame import FLAG_RETRY, Frame, FrameError, TruncatedFrameError, find_frames

__all__ = [
    "DuplicateFrameError",
    "LinkError",
    "LinkState",
    "LinkTimeoutError",
    "ReplayedFrameError",
    "SequenceError",
    "check_sequence",
]


class LinkError(ZhifuError):
    """The link cannot go on."""


class LinkTimeoutError(LinkError):
    """A frame was not acknowledged after every retransmission."""


class SequenceError(FrameError):
    """A whole frame whose sequence number is not the next one expected."""


class DuplicateFrameError(SequenceError):
    """The last frame delivered, again: its ACK was lost (ACK it again, do not deliver it)."""


class ReplayedFrameError(SequenceError):
    """A frame whose sequence number is neither the next nor the last one."""


def check_sequence(seq: int, expected: int) -> None:
    """Nothing when ``seq`` is the ``expected`` one; a :class:`SequenceError` otherwise.

    >>> check_sequence(0, 0)
    >>> check_sequence(255, 0)
    Traceback (most recent call last):
    ...
    zhifu.device.link.DuplicateFrameError: field seq at offset 3: sequence 255 again
    >>> check_sequence(7, 9)
    Traceback (most recent call last):
    ...
    zhifu.device.link.ReplayedFrameError: field seq at offset 3: sequence 7, expected 9
    """
    if seq == expected:
        return
    if seq == (expected - 1) % 256:
        raise DuplicateFrameError(f"sequence {seq} again", field="seq", offset=3)
    raise ReplayedFrameError(f"sequence {seq}, expected {expected}", field="seq", offset=3)


@dataclass
class LinkState:
    """One end of the link."""

    timeout: float = 0.25
    retries: int = 8
    next_tx: int = 0
    next_rx: int = 0
    pending: Frame | None = None
    deadline: float = 0.0
    tries: int = 0
    buffer: bytes = b""
    errors: list[FrameError] = field(default_factory=list)
    resent: int = 0
    naks: int = 0
    duplicates: int = 0
    partial_since: float | None = None

    @property
    def busy(self) -> bool:
        """A frame waits for its ACK (send nothing new until it is acknowledged)."""
        return self.pending is not None

    def send(self, cmd: int, payload: bytes, *, now: float, flags: int = 0) -> bytes:
        """The bytes of a new message frame."""
        if self.pending is not None:
            raise LinkError("a frame is in flight: wait for its ACK")
        self.pending = Frame(self.next_tx, cmd, payload, flags)
        self.next_tx = (self.next_tx + 1) % 256
        self.deadline, self.tries, self.naks = now + self.timeout, 0, 0
        return self.pending.encode()

    def resume(self, *, now: float) -> bytes:
        """After a reconnect: the frame in flight again (nothing when none is)."""
        if self.pending is None:
            return b""
        self.deadline = now + self.timeout
        return self._retry()

    def tick(self, *, now: float) -> bytes:
        """The retransmission due at ``now`` (LinkTimeoutError after the last try)."""
        if self.pending is None or now < self.deadline:
            return b""
        if self.tries >= self.retries:
            raise LinkTimeoutError(f"no ACK for frame {self.pending.seq} after {self.tries} tries")
        self.deadline = now + self.timeout
        return self._retry()

    def _retry(self) -> bytes:
        self.tries += 1
        self.resent += 1
        return self._frame_again()

    def _frame_again(self) -> bytes:
        assert self.pending is not None
        frame = self.pending
        return Frame(frame.seq, frame.cmd, frame.payload, frame.flags | FLAG_RETRY).encode()

    def feed(self, data: bytes, *, now: float) -> tuple[list[Frame], bytes]:
        """The messages delivered by ``data`` and the bytes to write back."""
        frames, errors, self.buffer = find_frames(self.buffer + data)
        if self._stale(now):  # the partial frame's length lied: look past its start
            more, more_errors, self.buffer = find_frames(self.buffer[1:])
            frames, errors = frames + more, [*errors, self._stale_error(), *more_errors]
            self.partial_since = now if self.buffer else None
        out = bytearray()
        for error in errors:
            self.errors.append(error)
            out += Frame(0, NAK, bytes([error.nak_reason])).encode()
        delivered: list[Frame] = []
        for frame in frames:
            if frame.cmd == ACK:
                if self.pending is not None and frame.seq == self.pending.seq:
                    self.pending = None
            elif frame.cmd == NAK:
                if self.pending is not None and self.naks < self.retries:
                    self.naks += 1  # resend now; the timeout's tries are not spent on it
                    self.resent += 1
                    out += self._frame_again()
            else:
                out += self._receive(frame, delivered)
        return delivered, bytes(out)

    def _stale(self, now: float) -> bool:
        """A partial frame has waited a whole timeout for the rest that its header announced."""
        if not self.buffer:
            self.partial_since = None
            return False
        if self.partial_since is None:
            self.partial_since = now
        return now - self.partial_since >= self.timeout

    def _stale_error(self) -> TruncatedFrameError:
        return TruncatedFrameError(
            f"{len(self.buffer)} bytes of a frame, then nothing for {self.timeout:g} s",
            field="payload", offset=len(self.buffer),
        )  # fmt: skip

    def _receive(self, frame: Frame, delivered: list[Frame]) -> bytes:
        """Deliver a message frame if it is the next one; the ACK to write back (if any)."""
        try:
            check_sequence(frame.seq, self.next_rx)
        except DuplicateFrameError:
            self.duplicates += 1
            return Frame(frame.seq, ACK).encode()  # its ACK was lost: acknowledge it again
        except ReplayedFrameError as error:
            self.errors.append(error)
            return b""
        delivered.append(frame)
        self.next_rx = (self.next_rx + 1) % 256
        return Frame(frame.seq, ACK).encode()
