"""The terminal's state folder: private, atomic, no card secrets, a typed error when absent."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zhifu.core.errors import DecodeError, UsageError
from zhifu.iso8583 import Message
from zhifu.terminal import Terminal
from zhifu.terminal.state import TerminalState

COMPONENTS = ["0123456789ABCDEFFEDCBA9876543210", "11111111111111112222222222222222"]


def test_init_forms_the_tmk_and_writes_a_private_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", "4B" * 32)
    term = Terminal.init(tmp_path / "t", "898100012345678", "10000001", COMPONENTS)
    term.close()
    folder = tmp_path / "t"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "state.json").stat().st_mode) == 0o600
    data = json.loads((folder / "state.json").read_text())
    assert data["tmk"].startswith("K-") and data["next_stan"] == 1
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
    assert not any(bytes.fromhex(c) in raw or c.encode() in raw for c in COMPONENTS)
    assert not list(folder.glob("*.tmp"))


def test_stans_are_saved_before_use_and_wrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", "4B" * 32)
    Terminal.init(tmp_path / "t", "898100012345678", "10000001", COMPONENTS).close()
    state = TerminalState.load(tmp_path / "t")
    assert state.take_stan() == "000001"
    assert TerminalState.load(tmp_path / "t").next_stan == 2
    state.next_stan = 999_999
    assert (state.take_stan(), state.take_stan()) == ("999999", "000001")


def test_bad_arguments_and_missing_state_are_typed_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", "4B" * 32)
    with pytest.raises(UsageError) as caught:
        TerminalState.load(tmp_path / "nothing")
    assert caught.value.argument == "--state"
    with pytest.raises(UsageError) as caught:
        Terminal.init(tmp_path / "t", "898100012345678", "10000001", ["zz", "00"])
    assert caught.value.argument == "--tmk-component"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "state.json").write_text("{not json")
    with pytest.raises(DecodeError):
        TerminalState.load(tmp_path / "bad")


KILLER = """
import sys
from zhifu.terminal.state import TerminalState
state = TerminalState.load(sys.argv[1])
print("ready", flush=True)
while True:
    state.log.append({"kind": "purchase", "stan": f"{state.next_stan:06d}", "batch": "000001",
                      "amount": 100, "reversed": False, "pad": "x" * 4000})
    state.take_stan()
"""


def test_a_kill_mid_write_leaves_the_old_state_or_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", "4B" * 32)
    Terminal.init(tmp_path / "t", "898100012345678", "10000001", COMPONENTS).close()
    for delay in (0.05, 0.2, 0.4):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLER, str(tmp_path / "t")], stdout=subprocess.PIPE
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        state = TerminalState.load(tmp_path / "t")  # whole JSON of one of the states written
        assert len(state.log) == state.next_stan - 1 or len(state.log) == state.next_stan - 2
        assert state.next_stan > 1


def test_a_pending_reversal_keeps_the_pan_sealed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", "4B" * 32)
    Terminal.init(tmp_path / "t", "898100012345678", "10000001", COMPONENTS).close()
    state = TerminalState.load(tmp_path / "t")
    reversal = Message("0400", {"2": "6228000100001117", "14": "3012", "11": "000009",
                                "39": "98", "4": "000000000100"})  # fmt: skip
    state.arm_reversal(reversal)
    text = (tmp_path / "t" / "state.json").read_text()
    assert "6228000100001117" not in text and "3012" not in text and "000009" in text
    again = TerminalState.load(tmp_path / "t")
    assert again.pending_reversal is not None
    assert again.unseal_card_fields(again.pending_reversal) == {"2": "6228000100001117",
                                                                "14": "3012"}  # fmt: skip
