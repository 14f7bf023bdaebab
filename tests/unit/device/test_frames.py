"""Frames and the command table: the CRC's check value, round trips, and every way a frame can
be broken refused with a typed error naming the field and offset; a stream resynchronises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhifu.core.errors import DecodeError, EncodeError
from zhifu.device.ccid import (
    COMMAND_FAILED,
    TIME_EXTENSION,
    CcidError,
    CcidLengthError,
    CcidMessageTypeError,
    CcidSlotError,
    CcidStatusError,
    data_block,
    parse_messages,
    xfr_block,
)
from zhifu.device.commands import COMMANDS, NAK_REASONS, by_name
from zhifu.device.frame import (
    MAX_PAYLOAD,
    BadCrcError,
    BadLengthError,
    BadSofError,
    BadVersionError,
    Frame,
    FrameError,
    TruncatedFrameError,
    UnknownCommandError,
    crc16,
    find_frames,
)


def test_the_command_table() -> None:
    names = [c.name for c in COMMANDS.values()]
    assert len(set(names)) == len(names) and all(0 < code < 256 for code in COMMANDS)
    assert all(c.sender in ("host", "terminal", "both") and c.payload for c in COMMANDS.values())
    assert by_name("DEVICE_INFO_ANSWER").code == by_name("DEVICE_INFO").code | 0x80
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value


@given(
    seq=st.integers(0, 255),
    cmd=st.sampled_from(sorted(COMMANDS)),
    payload=st.binary(max_size=300),
    flags=st.integers(0, 7),
)
def test_any_frame_round_trips(seq: int, cmd: int, payload: bytes, flags: int) -> None:
    frame = Frame(seq, cmd, payload, flags)
    assert Frame.decode(frame.encode()) == frame


@pytest.mark.parametrize(
    ("change", "error", "field", "offset"),
    [
        (lambda raw: b"\x00" + raw[1:], BadSofError, "sof", 0),
        (lambda raw: raw[:5], TruncatedFrameError, "header", 5),
        (lambda raw: raw[:2] + b"\x02" + raw[3:], BadVersionError, "ver", 2),
        (lambda raw: raw[:-1], TruncatedFrameError, "payload", 14),
        (lambda raw: raw[:9] + bytes([raw[9] ^ 1]) + raw[10:], BadCrcError, "crc", 13),
        (lambda raw: raw[:6] + b"\x04\x01" + raw[8:], BadLengthError, "len", 6),
        (lambda raw: raw + b"\x00", BadLengthError, "frame", 15),
    ],
)
def test_broken_frames_are_refused_naming_the_field(  # type: ignore[no-untyped-def]
    change, error: type[FrameError], field: str, offset: int
) -> None:
    raw = Frame(1, 0x10, b"hello").encode()
    with pytest.raises(error) as caught:
        Frame.decode(change(raw))
    assert (caught.value.field, caught.value.offset) == (field, offset)
    assert isinstance(caught.value, DecodeError) and caught.value.nak_reason in NAK_REASONS


def test_every_error_class_has_its_own_nak_reason_where_a_nak_is_sent() -> None:
    reasons = {
        BadCrcError: 0x01, BadLengthError: 0x02, UnknownCommandError: 0x03, BadVersionError: 0x04,
    }  # fmt: skip
    assert {cls: cls.nak_reason for cls in reasons} == reasons
    assert sorted(NAK_REASONS) == [1, 2, 3, 4] and all(NAK_REASONS.values())
    assert all(issubclass(cls, FrameError) for cls in (BadSofError, TruncatedFrameError))


def test_unknown_commands_and_oversized_payloads() -> None:
    body = bytes([1, 0, 0x7F, 0]) + (0).to_bytes(2, "big")
    raw = b"\xa5\x5a" + body + crc16(body).to_bytes(2, "big")
    with pytest.raises(UnknownCommandError, match="unknown command") as caught:
        Frame.decode(raw)
    assert (caught.value.field, caught.value.offset) == ("cmd", 4)
    with pytest.raises(EncodeError):
        Frame(0, 0x10, bytes(MAX_PAYLOAD + 1)).encode()
    with pytest.raises(EncodeError):
        Frame(0, 0x7F).encode()


def test_a_stream_resynchronises_after_garbage_and_keeps_its_tail() -> None:
    one, two = Frame(1, 0x10, b"a").encode(), Frame(2, 0x20, b"b").encode()
    broken = one[:-1] + bytes([one[-1] ^ 0xFF])
    frames, errors, tail = find_frames(b"\x00noise" + broken + two + one[:5])
    assert [f.seq for f in frames] == [2] and [e.field for e in errors] == ["crc"]
    assert tail == one[:5]


def test_ccid_messages_carry_frames() -> None:
    frame = Frame(3, 0x10, b"x").encode()
    stream = xfr_block(1, frame) + data_block(1, frame)
    messages = parse_messages(stream + b"\x6f\x05")
    assert [m.kind for m, _ in messages] == [0x6F, 0x80]
    assert messages[-1][1] == b"\x6f\x05" and messages[0][0].data == frame
    with pytest.raises(CcidError) as caught:
        parse_messages(b"\x62" + bytes(9))
    assert caught.value.field == "bMessageType"
    with pytest.raises(CcidError):
        parse_messages(b"\x6f" + bytes(4) + b"\x01" + bytes(4))  # slot 1


@pytest.mark.parametrize(
    ("broken", "error", "field", "offset"),
    [
        (bytes([0x62]) + bytes(9), CcidMessageTypeError, "bMessageType", 0),
        (b"\x6f" + (65_539).to_bytes(4, "little") + bytes(5), CcidLengthError, "dwLength", 1),
        (b"\x6f" + bytes(4) + b"\x01" + bytes(4), CcidSlotError, "bSlot", 5),
        (
            data_block(2, b"", status=COMMAND_FAILED | 0x02, error=0xFE),
            CcidStatusError,
            "bStatus",
            7,
        ),
    ],
)
def test_each_broken_ccid_message_has_its_error_at_its_offset_in_the_stream(
    broken: bytes, error: type[CcidError], field: str, offset: int
) -> None:
    good = xfr_block(1, Frame(3, 0x10, b"x").encode())
    with pytest.raises(error) as caught:
        parse_messages(good + broken)
    assert (caught.value.field, caught.value.offset) == (field, len(good) + offset)


def test_a_time_extension_carries_no_data_and_is_not_an_error() -> None:
    waiting = data_block(4, b"", status=TIME_EXTENSION, error=0x01)
    answer = data_block(4, Frame(3, 0x01).encode())
    (first, _), (second, rest) = parse_messages(waiting + answer)
    assert first.time_extension and first.data == b"" and first.seq == second.seq == 4
    assert not second.time_extension and Frame.decode(second.data).cmd == 0x01 and rest == b""
