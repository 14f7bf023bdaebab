"""Framing (docs/standards/iso8583-cup.md §1): length, TPDU, header; the asyncio stream reader."""

from __future__ import annotations

import asyncio

import pytest

from zhifu.core.errors import DecodeError, EncodeError, UsageError
from zhifu.iso8583.framing import (
    MESSAGE_OFFSET,
    PROCESSING_REQUIREMENTS,
    Frame,
    Header,
    Tpdu,
    frame,
    read_frame,
    read_frame_body,
    unframe,
    unframe_body,
)

MESSAGE = bytes.fromhex("0800002000000080001000000132323030333630300011000000000030")
FRAME = bytes.fromhex("00286006010000613100311108") + MESSAGE


def test_unframe_splits_the_parts() -> None:
    framed = unframe(FRAME)
    assert framed.tpdu == Tpdu("6006010000")
    assert (framed.tpdu.id, framed.tpdu.destination, framed.tpdu.source) == ("60", "0601", "0000")
    header = framed.header
    assert header.application_type == "61" and header.version == "31"
    assert header.terminal_status == "0" and header.processing_requirement == "0"
    assert header.software_version == "311108"
    assert framed.message == MESSAGE
    assert FRAME[MESSAGE_OFFSET:] == MESSAGE


def test_frame_round_trip_and_length_is_binary() -> None:
    framed = unframe(FRAME)
    assert frame(framed) == FRAME == framed.to_bytes()
    assert frame(framed.tpdu, framed.header, MESSAGE) == FRAME
    big = frame(Tpdu(), Header(), bytes(300))
    assert big[:2] == (311).to_bytes(2, "big")  # 0x0137, not BCD 0311


def test_reply_swaps_destination_and_source() -> None:
    """T03 -> T04: request 60 0601 0000, response 60 0000 0601."""
    framed = unframe(FRAME)
    reply = framed.reply(b"\x08\x10" + bytes(8))
    assert reply.tpdu.hex == "6000000601"
    assert reply.header == framed.header
    assert reply.tpdu.reply() == framed.tpdu


def test_builders() -> None:
    assert Tpdu.build("0601").hex == "6006010000"
    header = Header.build("61", "31", "0", "3", "311108")
    assert header.hex == "613103311108"
    assert header.with_requirement("0").hex == "613100311108"
    assert PROCESSING_REQUIREMENTS[header.processing_requirement] == "sign on again"
    assert Header("613100311108").to_bytes() == bytes.fromhex("613100311108")
    assert Tpdu("60060100ab").hex == "60060100AB"


@pytest.mark.parametrize(
    ("cls", "value"), [(Tpdu, "60"), (Header, "61310031110"), (Tpdu, "6G06010000")]
)
def test_bad_parts_are_usage_errors(cls: type[Tpdu] | type[Header], value: str) -> None:
    with pytest.raises(UsageError):
        cls(value)


def test_frame_arguments() -> None:
    with pytest.raises(UsageError):
        frame(Tpdu())
    with pytest.raises(EncodeError):
        frame(Tpdu(), Header(), bytes(70000))


@pytest.mark.parametrize(
    ("data", "field", "offset"),
    [
        (b"", "length", 0),
        (b"\x00", "length", 0),
        (FRAME[:-1], "length", 0),
        (FRAME + b"\x00", "length", 0),
        (b"\x00\x03" + bytes(3), "tpdu", 2),
        (b"\x00\x08" + bytes(8), "header", 7),
        (b"\x00\x0d" + bytes(13), "bitmap", 13),
    ],
)
def test_unframe_errors(data: bytes, field: str, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        unframe(data)
    assert (info.value.field, info.value.offset) == (field, offset)


def test_unframe_without_length() -> None:
    framed = unframe(FRAME[2:], length_prefix=False)
    assert framed.message == MESSAGE
    assert unframe_body(FRAME[2:]) == framed
    assert framed.body == FRAME[2:]


def _reader(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


def test_read_pipelined_frames_then_clean_end() -> None:
    async def scenario() -> list[Frame | None]:
        reader = _reader(FRAME + FRAME)
        return [await read_frame(reader), await read_frame(reader), await read_frame(reader)]

    first, second, end = asyncio.run(scenario())
    assert first == second == unframe(FRAME)
    assert end is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (FRAME[:1], "inside the length prefix"),
        (FRAME[:10], "ended after 8 of 40 bytes"),
        (b"\x20\x01" + bytes(10), "exceeds the 8192 allowed"),
    ],
)
def test_read_frame_errors(data: bytes, message: str) -> None:
    async def scenario() -> None:
        await read_frame(_reader(data))

    with pytest.raises(DecodeError, match=message):
        asyncio.run(scenario())


def test_read_short_body_keeps_the_stream_in_step() -> None:
    async def scenario() -> tuple[str, Frame | None]:
        reader = _reader(b"\x00\x03abc" + FRAME)
        try:
            await read_frame(reader)
        except DecodeError as exc:
            error = str(exc)
        return error, await read_frame(reader)

    error, after = asyncio.run(scenario())
    assert "shorter than" in error
    assert after == unframe(FRAME)


def test_read_frame_body_respects_max_length() -> None:
    async def scenario() -> bytes | None:
        return await read_frame_body(_reader(FRAME), max_length=40)

    assert asyncio.run(scenario()) == FRAME[2:]
