"""The fault-injecting proxy over real sockets: each fault does what it says, and no more."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from zhifu.core.errors import UsageError
from zhifu.iso8583.faults import FaultPlan, FaultProxy, message_type

HEAD = bytes.fromhex("6000030000613100311108")


def body(mti: str, tag: int = 0) -> bytes:
    return HEAD + bytes.fromhex(mti) + bytes(8) + tag.to_bytes(2, "big")


def framed(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


class Upstream:
    """A host that answers each request with MTI + 10 and counts what it received."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                data = await reader.readexactly(size)
                mti = message_type(data)
                self.received.append(mti)
                answer = f"{int(mti) + 10:04d}"
                writer.write(framed(HEAD + bytes.fromhex(answer) + data[13:]))
                await writer.drain()
        writer.close()

    async def __aenter__(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return "127.0.0.1", self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


async def exchange(port: int, requests: list[bytes], timeout: float = 0.3) -> list[str]:
    """Send the requests one at a time; the MTIs answered (``timeout`` when none came)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers: list[str] = []
    try:
        for request in requests:
            writer.write(framed(request))
            await writer.drain()
            try:
                size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), timeout), "big")
                answers.append(message_type(await reader.readexactly(size)))
            except TimeoutError:
                answers.append("timeout")
            except (asyncio.IncompleteReadError, ConnectionError):
                answers.append("reset")
                break
    finally:
        writer.close()
    return answers


def run(plan: FaultPlan, requests: list[bytes]) -> tuple[list[str], list[str], dict[str, int]]:
    async def go() -> tuple[list[str], list[str], dict[str, int]]:
        upstream = Upstream()
        async with upstream as address, FaultProxy(address, plan) as proxy:
            answers = await exchange(proxy.port, requests)
            await asyncio.sleep(0.05)
            return answers, upstream.received, dict(proxy.stats)

    return asyncio.run(go())


def test_without_faults_every_frame_passes_both_ways() -> None:
    answers, received, stats = run(FaultPlan(), [body("0200"), body("0400"), body("0820")])
    assert answers == ["0210", "0410", "0830"]
    assert received == ["0200", "0400", "0820"]
    assert stats == {}


def test_a_dropped_response_reaches_the_host_but_not_the_terminal() -> None:
    answers, received, stats = run(FaultPlan(drop_response=1.0), [body("0200")])
    assert (answers, received, stats) == (["timeout"], ["0200"], {"drop_response": 1})


def test_a_dropped_0410_spares_other_answers() -> None:
    plan = FaultPlan(drop_reversal_response=1.0)
    answers, _, stats = run(plan, [body("0200"), body("0400")])
    assert answers == ["0210", "timeout"]
    assert stats == {"drop_reversal_response": 1}


def test_a_duplicated_reversal_reaches_the_host_twice() -> None:
    answers, received, _ = run(FaultPlan(duplicate_reversal=1.0), [body("0400")])
    assert received == ["0400", "0400"]
    assert answers[0] == "0410"


def test_a_delayed_answer_comes_after_the_terminals_timeout() -> None:
    plan = FaultPlan(delay_response=1.0, delay_seconds=0.5)
    answers, received, _ = run(plan, [body("0200")])
    assert (answers, received) == (["timeout"], ["0200"])


def test_a_reset_loses_the_answer_after_the_host_got_the_request() -> None:
    answers, received, stats = run(FaultPlan(reset=1.0), [body("0200"), body("0200", 1)])
    assert answers == ["reset"]
    assert received == ["0200"]
    assert stats == {"reset": 1}


def test_the_seed_makes_a_run_repeatable() -> None:
    plan = FaultPlan(drop_response=0.5, seed=42)
    requests = [body("0200", n) for n in range(12)]
    first, second = run(plan, requests), run(plan, requests)
    assert first == second
    assert 0 < first[2]["drop_response"] < 12


@pytest.mark.parametrize("field", ["drop_response", "reset", "duplicate_reversal"])
def test_a_rate_outside_zero_to_one_is_refused_by_name(field: str) -> None:
    with pytest.raises(UsageError, match=field):
        FaultPlan(**{field: 1.5})  # type: ignore[arg-type]
