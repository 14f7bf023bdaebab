"""Connection limits over real TCP: one source address holding every socket it may hold, and
more, does not stop a terminal at another address from signing on; silent sockets are closed.

127.0.0.1 plays the flood and 127.0.0.2 (loopback too on Linux) the terminal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import ModuleType
from typing import Any

import pytest

from zhifu.iso8583.framing import Header, Tpdu

FLOOD, TERMINAL = "127.0.0.1", "127.0.0.2"
PER_ADDRESS = 4
FIRST_FRAME = 1.0


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _open(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def _until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there in time"
        await asyncio.sleep(0.01)


def test_a_flooding_address_does_not_lock_out_another_terminal(
    tc: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(
            max_connections_per_address=PER_ADDRESS, first_frame_timeout_seconds=FIRST_FRAME
        )
        terminal = tc.enrol(server.host, "10000001")
        held = []
        try:
            # the flood takes its whole share: 4 sockets, one of them half a frame in
            opened = time.monotonic()
            held = [await _open(server.port, FLOOD) for _ in range(PER_ADDRESS)]
            half = Tpdu().to_bytes() + bytes.fromhex(Header().hex)  # 11 of 64 bytes
            held[0][1].write(b"\x00\x40" + half)
            await _until(lambda: server.connections == PER_ADDRESS)

            # more from that address: closed at once, long before any timeout
            with caplog.at_level(logging.INFO, logger="zhifu.acquirer.server"):
                for _ in range(6):
                    reader, writer = await _open(server.port, FLOOD)
                    assert await asyncio.wait_for(reader.read(), FIRST_FRAME / 2) == b""
                    writer.close()
            assert server.stats["refused_per_address"] == 6
            refused = [r for r in caplog.records if "refused" in r.getMessage()]
            assert len(refused) == 1  # one line per ten seconds, not one per socket
            assert "max_connections_per_address" in refused[0].getMessage()

            # a terminal at another address signs on while the flood holds its sockets
            await terminal.connect(server.port, source=TERMINAL)
            assert (await terminal.sign_on("003"))["39"] == "00"
            assert server.connections == PER_ADDRESS + 1

            # the silent sockets (and the half frame) are closed after the first-frame timeout
            for reader, _ in held:
                assert await asyncio.wait_for(reader.read(), 5) == b""
            assert time.monotonic() - opened >= FIRST_FRAME
            assert server.stats["closed_silent"] == PER_ADDRESS

            # the terminal spoke, so its connection outlives the first-frame timeout
            assert (await terminal.echo())["39"] == "00"
            # and the flood's address has its share back
            again = tc.TestTerminal("10000001", terminal.merchant_id, terminal.tmk, "3des")
            await again.connect(server.port, source=FLOOD)
            assert (await again.echo())["39"] == "00"
            await again.close()
        finally:
            for _, writer in held:
                writer.close()
            await terminal.close()
            await server.stop()

    run(scenario())


def test_the_limit_counts_open_connections_only(tc: ModuleType) -> None:
    async def scenario() -> None:
        server = await tc.start_acquirer(max_connections_per_address=2)
        terminal = tc.enrol(server.host, "10000001")
        try:
            for _ in range(5):  # connect, speak, hang up: never more than 1 open
                await terminal.connect(server.port)
                assert (await terminal.echo())["39"] == "00"
                await terminal.close()
                await _until(lambda: server.connections == 0)
            assert server.stats["accepted"] == 5
            assert server.stats["refused_per_address"] == 0
        finally:
            await server.stop()

    run(scenario())
