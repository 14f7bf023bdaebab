"""Acquirer benchmark: sign-ons per second over TCP with 50 terminals at once.

50 asyncio clients, one connection each, sign on (0800, 60.3 004: PIK, MAK and TDK generated
in the security module, wrapped under the TMK, journalled) back to back for a bounded time
against a host on 127.0.0.1. Echo (0820, 301) over the same connections is the floor: framing,
decoding, the pipeline's checks and the journal without any key work. Measured with the
database and key store in memory and on disk (a temporary directory, as ``var/``).

``python -m bench.acquirer`` prints the table alone.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import Row, print_table
from zhifu.acquirer import AcquirerConfig, AcquirerHost, AcquirerServer, register_terminal
from zhifu.iso8583 import Header, Message, Tpdu, decode, encode_frame, read_frame

TERMINALS = 50
MID = "898100012345678"
LMK_ENV = {"ZHIFU_LMK": "5A" * 32}


def _request(terminal_id: str, stan: int, code: str) -> bytes:
    mti = "0820" if code == "301" else "0800"
    message = Message(mti, {"11": f"{stan % 1_000_000:06d}", "41": terminal_id, "42": MID,
                            "60": f"00000001{code}"})  # fmt: skip
    return encode_frame(message, Tpdu("6000030000"), Header("613100311108"))


async def _client(port: int, terminal_id: str, code: str, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        for stan in itertools.count(1):
            if time.perf_counter() >= deadline:
                break
            writer.write(_request(terminal_id, stan, code))
            await writer.drain()
            answer = await read_frame(reader)
            assert answer is not None, "the host closed the connection"
            assert decode(answer.message)["39"] == "00", "the host declined"
            done += 1
    finally:
        writer.close()
    return done


async def _rate(server: AcquirerServer, code: str, seconds: float) -> float:
    terminal_ids = [f"5000{n:04d}" for n in range(TERMINALS)]
    start = time.perf_counter()
    counts = await asyncio.gather(
        *(_client(server.port, tid, code, start + seconds) for tid in terminal_ids)
    )
    return sum(counts) / (time.perf_counter() - start)


async def _measure(config: AcquirerConfig, seconds: float) -> tuple[float, float]:
    host = (
        AcquirerHost.in_memory(config)
        if config.db_path == ":memory:"
        else AcquirerHost.open(config, environ=LMK_ENV)
    )
    services = host.services
    for n in range(TERMINALS):
        register_terminal(services.registry, services.hsm, MID, f"5000{n:04d}")
    server = AcquirerServer(config, host, owns_host=True)
    await server.start()
    try:
        await _rate(server, "301", 0.2)  # warm up
        sign_ons = await _rate(server, "004", seconds)
        echoes = await _rate(server, "301", seconds)
    finally:
        await server.stop()
    return sign_ons, echoes


def _rows(seconds: float) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as home:
        setups: list[tuple[str, Callable[[], AcquirerConfig]]] = [
            ("in memory", lambda: AcquirerConfig(port=0)),
            ("on disk", lambda: AcquirerConfig.local(Path(home), port=0)),
        ]
        for label, make in setups:
            sign_ons, echoes = asyncio.run(_measure(make(), seconds))
            rows.append(Row(f"sign-on 004 over TCP, {TERMINALS} terminals ({label})", sign_ons,
                            "echo 301, same connections", echoes))  # fmt: skip
    return rows


def run(seconds: float = 1.0) -> None:
    """Measure and print the acquirer table (each figure takes about ``seconds``)."""
    print_table(
        f"Acquirer host: requests per second over TCP, {TERMINALS} concurrent terminals",
        _rows(seconds),
    )


if __name__ == "__main__":
    run()
