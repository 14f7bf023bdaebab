"""Acquirer benchmark: requests per second and latency over TCP, 50 terminals at once.

The host runs in its own process (a ``spawn`` child serving on 127.0.0.1, uvloop when
installed, the database and key store on disk in a temporary directory, as ``var/``); 50
asyncio terminals in this process, one connection each, send one request after the other for
a bounded time. Each row prints requests/s and the p50 / p99 latency a terminal saw.

The baseline of each row is the old arrangement, measured in the same run: host and terminals
in one process on the stock asyncio loop, the host's threads handed one frame at a time (two
journal commits per frame).

Rows (:data:`SCENARIOS`): echo (0820, 60.3 301: framing, decoding, the pipeline's checks and
the journal, no key work) and sign-on (0800, 60.3 004: PIK, MAK and TDK generated in the
security module and wrapped under the TMK). The purchase row is to be added there.

``python -m bench.acquirer [seconds]`` prints the table alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.harness import Latency, Row, latency_of, print_table
from zhifu.acquirer import AcquirerConfig, AcquirerHost, AcquirerServer, register_terminal
from zhifu.acquirer.server import event_loop_factory
from zhifu.iso8583 import Header, Message, Tpdu, decode, encode_frame, read_frame

TERMINALS = 50
MID = "898100012345678"
LMK_ENV = {"ZHIFU_LMK": "5A" * 32}
ECHO_TARGET = 5_000.0
"""Echoes per second the host in its own process must reach on a 2-core machine."""


def _terminal_ids() -> list[str]:
    return [f"5000{n:04d}" for n in range(TERMINALS)]


def _config(home: Path) -> AcquirerConfig:
    # 50 terminals from one address: above the default per-address cap of 32
    return AcquirerConfig.local(home, port=0, max_connections_per_address=TERMINALS + 14)


def _open_host(home: Path) -> tuple[AcquirerConfig, AcquirerHost]:
    """The host on disk in ``home``, with the bench terminals registered (once)."""
    config = _config(home)
    host = AcquirerHost.open(config, environ=LMK_ENV)
    registry = host.services.registry
    for terminal_id in _terminal_ids():
        if registry.terminal(terminal_id) is None:
            register_terminal(registry, host.services.hsm, MID, terminal_id)
    return config, host


# --- terminals ---------------------------------------------------------------------------------


@dataclasses.dataclass
class BenchTerminal:
    """One terminal's connection, and whatever a scenario keeps for it (working keys...)."""

    terminal_id: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    state: dict[str, Any] = dataclasses.field(default_factory=dict)

    async def exchange(self, data: bytes) -> Message:
        """Send one frame, read the answer."""
        self.writer.write(data)
        answer = await read_frame(self.reader)
        assert answer is not None, "the host closed the connection"
        return decode(answer.message)


def management(terminal_id: str, stan: int, mti: str, code: str) -> bytes:
    """A management request frame (sign-on, echo...) of ``terminal_id``."""
    message = Message(mti, {"11": f"{stan % 1_000_000:06d}", "41": terminal_id, "42": MID,
                            "60": f"00000001{code}"})  # fmt: skip
    return encode_frame(message, Tpdu("6000030000"), Header("613100311108"))


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One row: how a terminal gets ready (``setup``) and builds its n-th request."""

    name: str
    request: Callable[[BenchTerminal, int], bytes]
    setup: Callable[[BenchTerminal], Awaitable[None]] | None = None
    approved: str = "00"
    rate_target: float | None = None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "echo 301",
        lambda t, n: management(t.terminal_id, n, "0820", "301"),
        rate_target=ECHO_TARGET,
    ),
    Scenario("sign-on 004", lambda t, n: management(t.terminal_id, n, "0800", "004")),
    # --- purchase (chip + PIN + ARQC + ledger) -------------------------------------------
    # To come with the purchase group: a Scenario whose ``setup`` signs the terminal on and
    # keeps its recovered PIK / MAK / TDK in ``terminal.state``, and whose ``request`` builds
    # a signed 0200 (field 55 with a fresh ARQC, field 52 under the PIK), target >= 1,000/s
    # with p99 < 50 ms on SQLite.
)


@dataclasses.dataclass(frozen=True)
class Measured:
    """Requests per second and their latencies."""

    rate: float
    latency: Latency | None


async def _session(
    port: int, terminal_id: str, scenario: Scenario, deadline: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    terminal = BenchTerminal(terminal_id, reader, writer)
    done = 0
    try:
        if scenario.setup is not None:
            await scenario.setup(terminal)
        for stan in itertools.count(1):
            begin = time.perf_counter()
            if begin >= deadline:
                break
            answer = await terminal.exchange(scenario.request(terminal, stan))
            latencies.append(time.perf_counter() - begin)
            assert answer["39"] == scenario.approved, f"the host answered {answer['39']}"
            done += 1
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return done


async def load(port: int, scenario: Scenario, seconds: float) -> Measured:
    """Every bench terminal runs ``scenario`` against ``port`` for about ``seconds``."""
    latencies: list[float] = []
    start = time.perf_counter()
    counts = await asyncio.gather(
        *(_session(port, tid, scenario, start + seconds, latencies) for tid in _terminal_ids())
    )
    return Measured(sum(counts) / (time.perf_counter() - start), latency_of(latencies))


# --- the host in its own process --------------------------------------------------------------


def _serve_child(home: str, channel: Connection) -> None:
    """The child process: serve the host of ``home`` until the parent says stop."""
    config, host = _open_host(Path(home))

    async def serve() -> None:
        server = AcquirerServer(config, host, owns_host=True)
        await server.start()
        channel.send(server.port)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, channel.recv)  # the parent's stop
        await server.stop()

    _run(serve())


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on the loop ``zhifu acquirer run`` uses (uvloop when it is installed)."""
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(coroutine)


@contextlib.contextmanager
def host_process(home: Path) -> Iterator[int]:
    """A host serving ``home`` in a child process; its port."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_child, args=(str(home), child), daemon=True
    )
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the acquirer child did not start within 60 s")
        yield int(parent.recv())
    finally:
        with contextlib.suppress(OSError):  # the child may be gone already
            parent.send("stop")
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()


def _measure_child(home: Path, seconds: float) -> dict[str, Measured]:
    results: dict[str, Measured] = {}

    async def run_all(port: int) -> None:
        await load(port, SCENARIOS[0], 0.3)  # warm up
        for scenario in SCENARIOS:
            results[scenario.name] = await load(port, scenario, seconds)

    with host_process(home) as port:
        _run(run_all(port))
    return results


# --- the baseline: one process, one frame per hand-off -----------------------------------------


def _measure_in_process(home: Path, seconds: float) -> dict[str, Measured]:
    results: dict[str, Measured] = {}

    async def run_all() -> None:
        config, host = _open_host(home)
        server = AcquirerServer(config, host, owns_host=True, max_batch=1)
        await server.start()
        try:
            await load(server.port, SCENARIOS[0], 0.3)  # warm up
            for scenario in SCENARIOS:
                results[scenario.name] = await load(server.port, scenario, seconds)
        finally:
            await server.stop()

    asyncio.run(run_all())
    return results


def _rows(seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory() as base:
        baseline = _measure_in_process(Path(base) / "baseline", seconds)
        measured = _measure_child(Path(base) / "host", seconds)
    return [
        Row(
            f"{scenario.name}, host in its own process",
            measured[scenario.name].rate,
            "same process, one frame per hand-off",
            baseline[scenario.name].rate,
            latency=measured[scenario.name].latency,
            baseline_latency=baseline[scenario.name].latency,
            rate_target=scenario.rate_target,
        )
        for scenario in SCENARIOS
    ]


def run(seconds: float = 2.0) -> None:
    """Measure and print the acquirer table (each figure takes about ``seconds``)."""
    print_table(
        f"Acquirer host over TCP, {TERMINALS} terminals in another process (on disk, requests/s)",
        _rows(seconds),
    )


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
