"""``zhifu terminal shell`` driven through a pseudo-terminal, as a person at a keyboard drives
it: the screen that arrives as half blocks is read back into pixels and compared with the
stored PNG of the PIN screen, a purchase goes to zhifu's acquirer, and nothing the shell
prints holds the PAN or the PIN."""

from __future__ import annotations

import codecs
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.issuer import Issuer
from zhifu.terminal import Terminal
from zhifu.terminal.chip import ChipSession
from zhifu.terminal.ui.console import HOME
from zhifu.terminal.ui.screen import Screen

LMK = "5A" * 32
MID = "898100012345678"
STORED = Path(__file__).parents[2] / "unit/terminal/ui/screens/purchase-pin-128.png"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundAcquirer]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    config = AcquirerConfig.local(tmp_path / "var", port=0)
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield background
    background.stop()


class Shell:
    """The shell in a child process on a pseudo-terminal."""

    def __init__(self, argv: list[str]) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "ZHIFU_LMK": LMK}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zhifu", *argv], stdin=slave, stdout=slave, stderr=slave,
            env=env, start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.output = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")()  # a read may cut a character

    def send(self, typed: str) -> None:
        for char in typed:  # one key at a time, as fingers type
            os.write(self.master, char.encode())
            time.sleep(0.02)

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.output += self._decoder.decode(os.read(self.master, 65536))
            except OSError:  # the child closed the terminal
                time.sleep(timeout)

    def last_frame(self) -> tuple[str, Screen] | None:
        for chunk in reversed(self.output.split(HOME)[1:]):
            lines = [line.removesuffix("\x1b[K") for line in chunk.split("\r\n")]
            if len(lines) >= 35 and lines[34].startswith("0-9"):  # 32 rows, "", status, keys
                return lines[33], Screen.from_blocks(lines[:32])
        return None

    def wait(self, phase: str, timeout: float = 30.0) -> Screen:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read(0.1)
            found = self.last_frame()
            if found is not None and found[0].startswith(f"[{phase}]"):
                return found[1]
        raise AssertionError(f"no [{phase}] screen; last: {self.last_frame()}")

    def wait_for(self, phase: str, screen: Screen, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.wait(phase) == screen:
                return True
        return False

    def close(self) -> int:
        try:
            return self.process.wait(timeout=10)
        finally:
            os.close(self.master)


def _screen(lines: list[str]) -> Screen:
    screen = Screen()
    screen.line(0, lines[0], align="center")
    for number, text in enumerate(lines[1:], start=1):
        screen.line(number, text)
    return screen


def test_a_purchase_by_hand_through_a_pseudo_terminal(
    host: BackgroundAcquirer, tmp_path: Path
) -> None:
    services = host.host.services
    reg = register_terminal(services.registry, services.hsm, MID, "10000088")
    parts = [c.material.reveal().hex() for c in reg.components]
    address = f"127.0.0.1:{host.port}"
    Terminal.init(tmp_path / "term", MID, "10000088", parts, host=address).close()
    issuer = services.issuer
    assert isinstance(issuer, Issuer)
    card = tmp_path / "card.json"
    issuer.issue_card("debit", 100_000, "1234", card)
    pan = ChipSession(card).facts().pan

    folders = ["--receipt", str(tmp_path / "slips"), "--snapshots", str(tmp_path / "png")]
    state = ["--state", str(tmp_path / "term")]
    shell = Shell(["terminal", "shell", *state, "--card", str(card), *folders])
    shell.wait("idle")
    shell.send("\r")
    shell.wait("menu")
    shell.send("7")  # 7.签到: sign on
    assert shell.wait("result") == _screen(["签到", "交易成功", "", "确认键返回"])
    shell.send("\r")
    shell.wait("idle")
    shell.send("\r1")
    shell.wait("amount")
    shell.send("1234\r")
    shell.wait("card")
    shell.send("i")
    shell.wait("pin")
    shell.send("1234")
    stored = Screen.from_png(STORED)
    assert shell.wait_for("pin", stored)  # the pixels a person sees: the stored PNG
    shell.send("\r")
    result = shell.wait("result")
    assert result == _screen(["消费", "交易成功", "金额 12.34", "确认键返回"])
    shell.send("\rq")
    assert shell.close() == 0
    assert pan not in shell.output and "1234\r" not in shell.output
    slips = sorted(p.suffix for p in (tmp_path / "slips").iterdir())
    assert slips == [".png", ".png", ".txt", ".txt"]
    assert len(list((tmp_path / "png").glob("screen-*.png"))) >= 8
