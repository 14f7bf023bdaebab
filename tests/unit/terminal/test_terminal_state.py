"""The terminal's state folder: private, atomic, no card secrets, a typed error when absent."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from zhifu.core.errors import DecodeError, UsageError
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
