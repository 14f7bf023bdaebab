"""A fault-injecting TCP proxy for the POS dialect: what a bad network does to a terminal.

Put :class:`FaultProxy` between a terminal and a host and it forwards whole frames (the 2-byte
length prefix, TPDU, header, message) both ways, except when its seeded random source decides
to inject a fault. The faults are those that test a host's and a terminal's guarantees (a
retransmission never posts twice, a reversal undoes exactly once, no fen lost):

``drop_response``
    the host's answer is swallowed: the terminal times out and reverses;
``delay_response``
    the answer arrives ``delay_seconds`` late (past the terminal's timeout);
``drop_reversal_response``
    a 0410 is swallowed: the terminal sends its reversal again;
``duplicate_reversal``
    a 0400 reaches the host twice;
``reset``
    the connection is reset (RST) after the request went to the host: the answer is lost.

The MTI is read from the message's first two bytes; frames too short to have one are
forwarded as they are. Every injected fault is counted in :attr:`FaultProxy.stats` and
recorded in :attr:`FaultProxy.events` (MTI and fault, never field values).

>>> plan = FaultPlan(drop_response=0.5, seed=7)
>>> plan.describe()
'drop_response=0.5 seed=7'
>>> message_type(bytes.fromhex("6000030000613100311108") + bytes.fromhex("0210") + bytes(8))
'0210'
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import random
import socket
import struct

from zhifu.core.errors import DecodeError, UsageError
from zhifu.iso8583.framing import HEADER_SIZE, LENGTH_SIZE, TPDU_SIZE, read_frame_body

__all__ = ["FaultPlan", "FaultProxy", "message_type"]

_MTI_AT = TPDU_SIZE + HEADER_SIZE
_REQUEST_LIMIT = 65_535


def message_type(body: bytes) -> str:
    """The MTI of a frame body (what the length prefix counts), or ``""`` when too short."""
    if len(body) < _MTI_AT + 2:
        return ""
    return body[_MTI_AT : _MTI_AT + 2].hex()


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """Probabilities (0 to 1) of each fault, and the seed that makes a run repeatable."""

    drop_response: float = 0.0
    delay_response: float = 0.0
    delay_seconds: float = 0.0
    drop_reversal_response: float = 0.0
    duplicate_reversal: float = 0.0
    reset: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _RATES:
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise UsageError(f"{name} must be between 0 and 1, not {rate}", argument=name)
        if self.delay_seconds < 0:
            raise UsageError("delay_seconds must not be negative", argument="delay_seconds")

    def describe(self) -> str:
        """The faults that may happen, and the seed, on one line."""
        rates = [f"{name}={getattr(self, name)}" for name in _RATES if getattr(self, name)]
        return " ".join([*rates, f"seed={self.seed}"])


_RATES = (
    "drop_response",
    "delay_response",
    "drop_reversal_response",
    "duplicate_reversal",
    "reset",
)


class FaultProxy:
    """Listens on 127.0.0.1 and forwards each connection to ``upstream`` with faults.

    Use it as an async context manager; :attr:`port` is where terminals connect.
    """

    def __init__(self, upstream: tuple[str, int], plan: FaultPlan) -> None:
        self.upstream = upstream
        self.plan = plan
        self.stats: collections.Counter[str] = collections.Counter()
        self.events: list[tuple[str, str]] = []
        self._random = random.Random(plan.seed)  # noqa: S311 - repeatable faults, not secrets
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._resetting: set[int] = set()
        self.port = 0

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    def _roll(self, name: str) -> bool:
        rate: float = getattr(self.plan, name)
        return rate > 0 and self._random.random() < rate

    def _record(self, mti: str, fault: str) -> None:
        self.stats[fault] += 1
        self.events.append((mti, fault))

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            host_r, host_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        to_host = asyncio.create_task(self._requests(client_r, host_w, client_w))
        to_terminal = asyncio.create_task(self._responses(host_r, client_w))
        self._tasks.update((to_host, to_terminal))
        try:
            await asyncio.wait((to_host, to_terminal), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_host, to_terminal):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                self._tasks.discard(task)
            for writer in (host_w, client_w):
                writer.close()
            self._resetting.discard(id(client_w))

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        host: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        while (body := await _read(reader)) is not None:
            mti = message_type(body)
            frame = _frame(body)
            resetting = self._roll("reset")
            if resetting:
                self._record(mti, "reset")
                self._resetting.add(id(client))
            host.write(frame)
            if mti == "0400" and self._roll("duplicate_reversal"):
                self._record(mti, "duplicate_reversal")
                host.write(frame)
            await host.drain()
            if resetting:
                _reset(client)
                return

    async def _responses(self, reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        while (body := await _read(reader)) is not None:
            mti = message_type(body)
            if id(client) in self._resetting:
                return
            if mti == "0410" and self._roll("drop_reversal_response"):
                self._record(mti, "drop_reversal_response")
                continue
            if mti != "0410" and self._roll("drop_response"):
                self._record(mti, "drop_response")
                continue
            if self._roll("delay_response"):
                self._record(mti, "delay_response")
                self._later(client, _frame(body))
                continue
            client.write(_frame(body))
            await client.drain()

    def _later(self, client: asyncio.StreamWriter, frame: bytes) -> None:
        async def deliver() -> None:
            await asyncio.sleep(self.plan.delay_seconds)
            if not client.is_closing():
                client.write(frame)

        task = asyncio.create_task(deliver())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _read(reader: asyncio.StreamReader) -> bytes | None:
    try:
        return await read_frame_body(reader, max_length=_REQUEST_LIMIT)
    except (OSError, DecodeError):
        return None


def _frame(body: bytes) -> bytes:
    return len(body).to_bytes(LENGTH_SIZE, "big") + body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a broken link or a crashed middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
