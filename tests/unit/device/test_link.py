"""Stop-and-wait delivery over a lossy pipe (seeded: drops, corruption, duplicates) with a
simulated clock: every message arrives once and in order; a replayed frame is refused; after
a reconnect the frame in flight is resent; too many losses end in LinkTimeoutError."""

from __future__ import annotations

import random

import pytest

from zhifu.device.commands import NAK, NAK_BAD_CRC, NAK_UNKNOWN_COMMAND
from zhifu.device.frame import Frame, crc16
from zhifu.device.link import LinkState, LinkTimeoutError, ReplayedFrameError


class LossyPipe:
    """Bytes from one end to the other, each write dropped, corrupted or doubled by chance."""

    def __init__(self, rng: random.Random, loss: float) -> None:
        self.rng, self.loss, self.queue = rng, loss, []  # type: list[bytes]

    def write(self, data: bytes) -> None:
        if not data:
            return
        roll = self.rng.random()
        if roll < self.loss:
            return  # dropped
        if roll < 2 * self.loss:
            at = self.rng.randrange(len(data))
            data = data[:at] + bytes([data[at] ^ 1 << self.rng.randrange(8)]) + data[at + 1 :]
        self.queue.append(data)
        if self.rng.random() < self.loss:
            self.queue.append(data)  # doubled

    def read(self) -> bytes:
        data, self.queue = b"".join(self.queue), []
        return data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_messages_arrive_once_in_order_over_a_bad_pipe(seed: int) -> None:
    rng = random.Random(seed)
    a, b = LinkState(), LinkState()
    a_to_b, b_to_a = LossyPipe(rng, 0.1), LossyPipe(rng, 0.1)
    sent = [rng.randbytes(rng.randrange(0, 200)) for _ in range(150)]
    got: list[bytes] = []
    now, queue = 0.0, list(sent)
    while (queue or a.busy) and now < 600:
        now += 0.05
        if queue and not a.busy:
            a_to_b.write(a.send(0x10, queue.pop(0), now=now))
        a_to_b.write(a.tick(now=now))
        delivered, back = b.feed(a_to_b.read(), now=now)
        got += [f.payload for f in delivered]
        b_to_a.write(back)
        _, more = a.feed(b_to_a.read(), now=now)
        a_to_b.write(more)
    assert got == sent
    assert a.resent > 0 and any(e.field == "crc" for e in b.errors)


def test_a_replayed_frame_is_refused_and_a_duplicate_is_acknowledged_again() -> None:
    a, b = LinkState(), LinkState()
    first = a.send(0x10, b"one", now=0)
    assert b.feed(first, now=0)[0][0].payload == b"one"
    delivered, back = b.feed(first, now=1)  # its ACK was lost: the same frame again
    assert delivered == [] and Frame.decode(back).cmd == 0x01
    assert b.duplicates == 1 and b.errors == []
    a.feed(back, now=1)
    b.feed(a.send(0x10, b"two", now=2), now=2)
    a.pending = None
    b.feed(first, now=3)  # frame 0 played back two frames later
    assert isinstance(b.errors[-1], ReplayedFrameError) and b.errors[-1].field == "seq"


def test_resume_after_reconnect_and_give_up_after_the_retries() -> None:
    a, b = LinkState(retries=3), LinkState()
    a.send(0x10, b"half", now=0)  # the cable is pulled: never arrives
    delivered, _ = b.feed(a.resume(now=5), now=5)
    assert [f.payload for f in delivered] == [b"half"]
    lonely = LinkState(timeout=1, retries=2)
    lonely.send(0x10, b"nobody", now=0)
    assert lonely.tick(now=1) and lonely.tick(now=2)
    with pytest.raises(LinkTimeoutError):
        lonely.tick(now=3)


def test_a_nak_names_what_was_wrong() -> None:
    b = LinkState()
    broken = bytearray(Frame(0, 0x10, b"x").encode())
    broken[-1] ^= 0xFF
    body = bytes([1, 0, 0x7F, 0]) + (0).to_bytes(2, "big")  # a whole frame, command 7F unknown
    unknown = b"\xa5\x5a" + body + crc16(body).to_bytes(2, "big")
    _, back = b.feed(bytes(broken) + unknown, now=0)
    naks = [Frame.decode(back[at : at + 11]) for at in (0, 11)]
    assert [(f.cmd, f.payload[0]) for f in naks] == [(NAK, NAK_BAD_CRC), (NAK, NAK_UNKNOWN_COMMAND)]


@pytest.mark.parametrize("payload", [b"", b"short", bytes(300)])
def test_a_damaged_length_does_not_stall_the_receiver(payload: bytes) -> None:
    """A bit flipped in the length's high byte announces 512 bytes more than come: the
    receiver drops the partial frame after a timeout and finds the retransmission behind it."""
    a, b = LinkState(timeout=0.25, retries=3), LinkState(timeout=0.25)
    wire = bytearray(a.send(0x10, payload, now=0.0))
    wire[6] ^= 0x02
    got, now = b.feed(bytes(wire), now=0.0)[0], 0.0
    while a.busy:
        now += 0.05
        delivered, back = b.feed(a.tick(now=now), now=now)
        got += delivered
        a.feed(back, now=now)
    assert [f.payload for f in got] == [payload] and now < 1.0
    assert any(e.field == "payload" for e in b.errors)
