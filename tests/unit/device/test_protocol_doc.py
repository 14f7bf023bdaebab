"""docs/device-protocol.md cannot drift from the code: every hex example parses and encodes
back to the same bytes, and its command table is the code's."""

from __future__ import annotations

import re
from pathlib import Path

from zhifu.device import frame as frame_module
from zhifu.device.ccid import parse_messages
from zhifu.device.commands import CARD_EVENTS, COMMANDS, ERROR_CODES, NAK_REASONS
from zhifu.device.frame import Frame, crc16

DOC = Path(__file__).parents[3] / "docs" / "device-protocol.md"


def _examples(kind: str) -> list[bytes]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(rf"```hex {kind}\n(.*?)```", text, re.S)
    return [bytes.fromhex(block) for block in blocks]


def test_every_frame_example_round_trips() -> None:
    frames = _examples("frame")
    assert len(frames) >= 6
    for raw in frames:
        frame = Frame.decode(raw)
        assert frame.encode() == raw
        assert Frame(frame.seq, frame.cmd, frame.payload, frame.flags).encode() == raw


def test_every_ccid_example_round_trips() -> None:
    for raw in _examples("ccid"):
        ((message, rest),) = parse_messages(raw)
        assert rest == b"" and Frame.decode(message.data).encode() == message.data


def test_the_documented_table_and_check_value_are_the_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([0-9A-F]{2})` \| `([A-Z_]+)` \|", text, re.M)
    assert {int(code, 16): name for code, name in rows} == {
        code: command.name for code, command in COMMANDS.items()
    }
    assert "`29B1`" in text and crc16(b"123456789") == 0x29B1


def test_the_documented_nak_reasons_are_the_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([0-9A-F]{2})` \| `([A-Za-z]+Error)` \|", text, re.M)
    assert sorted(int(reason, 16) for reason, _ in rows) == sorted(NAK_REASONS)
    for reason, name in rows:
        assert getattr(frame_module, name).nak_reason == int(reason, 16)


def test_the_documented_error_codes_and_card_events_are_the_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\d\d)` \| ([^|`]+?) \|$", text, re.M))
    assert sorted(rows) == sorted(ERROR_CODES)
    for code, meaning in rows.items():
        assert meaning.startswith(ERROR_CODES[code].split(":")[0] + ":"), code
    assert all(f"`{event}`" in text for event in CARD_EVENTS)
