"""``zhifu card apdu`` at a terminal: the console loop driven line by line, and the real thing
on a pseudo-terminal (prompt, decoded answers, readline history, Ctrl-D)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import CardImage
from zhifu.card.issuing import issue_card
from zhifu.cli.card.console import HELP, PROMPT, answer_lines, run_console
from zhifu.cli.main import main

SRC = str(Path(__file__).resolve().parents[3] / "src")
SELECT_PSE = "00A404000E315041592E5359532E444446303100"
SELECT_DEBIT = "00A4040008A00000033301010100"
READ_TRACK_2 = "00B2010C00"  # record 1.1 of the reference card: 57 and 9F1F
PAN = "6228000100001117"
WAIT = 15.0


class Lines:
    """A line source as the console sees ``input``: EOFError at the end, KeyboardInterrupt
    where the script says ``^C``; it remembers the prompts it was given."""

    def __init__(self, *lines: str) -> None:
        self._lines: Iterator[str] = iter(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        line = next(self._lines, None)
        if line is None:
            raise EOFError
        if line == "^C":
            raise KeyboardInterrupt
        return line


@pytest.fixture
def card_file(tmp_path: Path) -> Path:
    path = tmp_path / "ref.card"
    issue_card("pboc-reference", None, path)
    return path


def _console(card_file: Path, *lines: str, reveal: bool = False) -> tuple[int, list[str], Lines]:
    source, out = Lines(*lines), []
    card = EmulatedCard.load(card_file)
    status = run_console(card, source, out.append, reveal=reveal, title="ref")
    return status, out, source


def test_answers_are_shown_as_sent_then_decoded(card_file: Path) -> None:
    status, out, source = _console(card_file, SELECT_PSE)
    assert status == 0 and source.prompts == [PROMPT, PROMPT]  # the second one met Ctrl-D
    assert out[0].startswith("zhifu card console: ref, ATR 3B8B")
    fci = CardImage.load(card_file).pse_fci
    assert fci is not None
    assert out[2] == fci.hex().upper() + " 9000"
    assert out[3] == "  9000: normal processing (正常处理)"
    assert out[4] == "  6F File Control Information (FCI) Template"
    assert "    84 Dedicated File (DF) Name [14] 315041592E5359532E4444463031" in out
    assert out[-1] == ""  # Ctrl-D ends the line the prompt was on


def test_the_tree_masks_track_2_unless_revealed(card_file: Path) -> None:
    _, masked, _ = _console(card_file, SELECT_DEBIT, READ_TRACK_2)
    tree = [line for line in masked if line.startswith("    57 ")]
    assert tree == ["    57 Track 2 Equivalent Data [17] 622800******1117D*****************"]
    _, revealed, _ = _console(card_file, SELECT_DEBIT, READ_TRACK_2, reveal=True)
    assert any(
        line.startswith(f"    57 Track 2 Equivalent Data [17] {PAN}D3012") for line in revealed
    )


def test_commands_comments_bad_lines_and_ctrl_c(card_file: Path) -> None:
    status, out, source = _console(
        card_file,
        "",
        "   # a comment",
        "help",
        "00A4 04ZZ",
        "^C",
        SELECT_DEBIT,
        "80CA9F3600",
        "reset",
        "80CA9F3600",
        "quit",
        "80CA9F3600",  # never read
    )
    assert status == 0 and len(source.prompts) == 10
    text = "\n".join(out)
    assert HELP in text and "Ctrl-D" in HELP
    assert "not an APDU (hex digits, spaces allowed) nor a command: try help" in out
    assert "9F36020000 9000" in out  # GET DATA ATC answered in the session
    assert "ATR 3B8B80015A484946552D50424F433342" in out  # reset: a new session ...
    assert out[-2:] == ["6985", "  6985: conditions of use not satisfied (使用条件不满足)"]


@pytest.mark.parametrize("word", ["quit", "exit", "QUIT"])
def test_quit_and_exit_leave(card_file: Path, word: str) -> None:
    status, _, source = _console(card_file, word, SELECT_PSE)
    assert status == 0 and len(source.prompts) == 1


def test_the_card_file_follows_the_console(card_file: Path) -> None:
    status, out, _ = _console(card_file, SELECT_DEBIT, "0020008008249999FFFFFFFFFF")
    assert status == 0 and "63C2" in out
    assert CardImage.load(card_file).applications[0].state.pin_tries == 2


def test_answer_lines_for_data_that_is_not_tlv() -> None:
    assert answer_lines(bytes.fromhex("0102039000")) == [
        "010203 9000",
        "  9000: normal processing (正常处理)",
        "  (the data is not BER-TLV)",
    ]
    assert answer_lines(bytes.fromhex("6A82")) == [
        "6A82",
        "  6A82: file or application not found (文件或应用未找到)",
    ]


def test_help_documents_the_console_and_ctrl_d(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["card", "apdu", "--help"])
    text = capsys.readouterr().out
    assert "Ctrl-D" in text and "console" in text and "quit or exit" in text


# ------------------------------------------------------------------------ on a pseudo-terminal


class Terminal:
    """``zhifu card apdu`` in a child process whose standard input and output are a pty."""

    def __init__(self, card_file: Path) -> None:
        self.master, slave = pty.openpty()
        env = os.environ | {"PYTHONPATH": SRC, "TERM": "xterm"}
        command = [sys.executable, "-m", "zhifu", "card", "apdu", "--card", str(card_file)]
        self.process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)

    def read_until(self, marker: bytes) -> str:
        seen, deadline = b"", time.monotonic() + WAIT
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the pty
                    break
                seen += chunk
        assert marker in seen, seen.decode(errors="replace")
        return seen.decode(errors="replace")

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> int:
        try:
            return self.process.wait(WAIT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self.master)


def test_the_console_on_a_terminal(card_file: Path) -> None:
    term = Terminal(card_file)
    try:
        banner = term.read_until(PROMPT.encode())
        assert "zhifu card console" in banner and "Ctrl-D" in banner
        term.type(SELECT_PSE.encode() + b"\r")
        first = term.read_until(PROMPT.encode())
        assert "9000: normal processing" in first and "84 Dedicated File (DF) Name" in first
        term.type(b"\x1b[A\r")  # arrow up: the last line again, from readline's history
        again = term.read_until(PROMPT.encode())
        assert SELECT_PSE in again and "9000: normal processing" in again
        term.type(b"\x04")  # Ctrl-D
    finally:
        status = term.close()
    assert status == 0
