"""The terminal against zhifu's acquirer over 127.0.0.1: sign-on and echo from the command
line (TMK components and check values as register-terminal prints them), and fifty
``AsyncTerminal`` objects in one event loop sending purchases back to back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.cli.main import main
from zhifu.issuer import Issuer
from zhifu.terminal import AsyncTerminal, Terminal

LMK = "5A" * 32
MID = "898100012345678"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundAcquirer]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.setenv("ZHIFU_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    config = AcquirerConfig.local(tmp_path / "var", port=0, max_connections_per_address=64)
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield background
    background.stop()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    status = main(list(argv))
    out = capsys.readouterr().out
    return status, (json.loads(out) if out.strip().startswith("{") else {})


def test_sign_on_and_echo_from_the_command_line(
    host: BackgroundAcquirer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, address = str(tmp_path / "term"), f"127.0.0.1:{host.port}"
    status, reg = _run(capsys, "acquirer", "register-terminal", "--merchant", MID,
                       "--terminal", "10000051", "--json")  # fmt: skip
    assert status == 0
    parts: list[dict[str, str]] = reg["components"]  # type: ignore[assignment]
    init = ["terminal", "init", "--state", state, "--merchant", MID, "--terminal", "10000051"]
    for part in parts:
        init += ["--tmk-component", part["component"], "--tmk-kcv", part["kcv"]]
    # a check value that does not match: exit 2 naming the option, and nothing is made
    assert main([*init[:-1], "000000", "--tmk-check", str(reg["tmk_kcv"])]) == 2
    assert "--tmk-kcv" in capsys.readouterr().err
    assert not Path(state).exists()
    assert _run(capsys, *init, "--tmk-check", str(reg["tmk_kcv"]), "--json")[0] == 0
    status, signed = _run(capsys, "terminal", "signon", "--state", state, "--host", address,
                          "--json")  # fmt: skip
    assert status == 0 and signed["response_code"] == "00" and signed["batch"] != "000000"
    status, echo = _run(capsys, "terminal", "echo", "--state", state, "--json")
    assert status == 0 and echo["response_code"] == "00"
    status, reverse = _run(capsys, "terminal", "reverse", "--state", state, "--json")
    assert status == 0 and reverse == {"pending": False}
    keys = json.loads((Path(state) / "state.json").read_text())["keys"]
    assert set(keys) == {"pik", "mak", "tdk"} and all(k.startswith("K-") for k in keys.values())
    host.stop()
    status, echo = _run(capsys, "terminal", "echo", "--state", state, "--timeout", "1",
                        "--json")  # fmt: skip
    assert status == 1 and echo["answered"] is False


def test_fifty_async_terminals_send_purchases_back_to_back(
    host: BackgroundAcquirer, tmp_path: Path
) -> None:
    services = host.host.services
    issuer = services.issuer
    assert isinstance(issuer, Issuer)
    folders, cards = [], []
    for number in range(50):
        tid = f"2000{number:04d}"
        reg = register_terminal(services.registry, services.hsm, MID, tid)
        parts = [c.material.reveal().hex() for c in reg.components]
        Terminal.init(tmp_path / tid, MID, tid, parts, host=f"127.0.0.1:{host.port}").close()
        folders.append(tmp_path / tid)
        cards.append(tmp_path / f"card-{number}.json")
        issuer.issue_card("debit", 10_000, "1234", cards[-1])

    async def shop(folder: Path, card: Path) -> list[bool]:
        async with AsyncTerminal(folder) as term:
            assert (await term.sign_on()).get("39") == "00"
            return [(await term.purchase(card, "1234", 100 + i)).approved for i in range(3)]

    async def everyone() -> list[list[bool]]:
        return await asyncio.gather(*(shop(f, c) for f, c in zip(folders, cards, strict=True)))

    results = asyncio.run(everyone())
    assert all(all(run) for run in results) and len(results) == 50
    state = json.loads((folders[7] / "state.json").read_text())
    assert [e["amount"] for e in state["log"]] == [100, 101, 102]
    assert state["pending_reversal"] is None
