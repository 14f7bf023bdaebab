"""Frames of the phone link: start, version, sequence, command, flags, length, payload, CRC.

::

    A5 5A | ver 01 | seq n1 | cmd n1 | flags n1 | len n2 (big-endian) | payload | CRC-16 n2

The CRC is CRC-16/CCITT-FALSE (polynomial 1021, initial FFFF, no reflection; check value
``29B1`` over ``"123456789"``) over the bytes from the version to the end of the payload.
Flags: ``01`` retransmission, ``02`` more frames follow (a long message split), ``04`` secure
(the payload is sealed). A payload is at most 1,024 bytes.

>>> frame = Frame(7, 0x10, b'{"kind":"purchase","amount":1234}')
>>> raw = frame.encode()
>>> raw[:8].hex(" ")
'a5 5a 01 07 10 00 00 21'
>>> Frame.decode(raw) == frame
True
>>> crc16(b"123456789") == 0x29B1
True

Each way a frame can be broken has its error class (a :class:`FrameError`, itself a
:class:`~zhifu.core.errors.DecodeError`), with the reason byte a NAK of it carries:

>>> Frame.decode(raw[:-1] + bytes([raw[-1] ^ 1]))
Traceback (most recent call last):
...
zhifu.device.frame.BadCrcError: field crc at offset 41: CRC does not match
>>> BadCrcError.nak_reason, UnknownCommandError.nak_reason
(1, 3)
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import ClassVar, Final

from zhifu.core.errors import DecodeError, EncodeError
from zhifu.device.commands import (
    COMMANDS,
    NAK_BAD_CRC,
    NAK_BAD_LENGTH,
    NAK_BAD_VERSION,
    NAK_UNKNOWN_COMMAND,
)

__all__ = [
    "FLAG_MORE",
    "FLAG_RETRY",
    "FLAG_SECURE",
    "HEADER",
    "MAX_PAYLOAD",
    "SOF",
    "VERSION",
    "BadCrcError",
    "BadLengthError",
    "BadSofError",
    "BadVersionError",
    "Frame",
    "FrameError",
    "TruncatedFrameError",
    "UnknownCommandError",
    "crc16",
    "find_frames",
]

SOF: Final = b"\xa5\x5a"
VERSION: Final = 0x01
HEADER: Final = 8
MAX_PAYLOAD: Final = 1024
FLAG_RETRY, FLAG_MORE, FLAG_SECURE = 0x01, 0x02, 0x04


class FrameError(DecodeError):
    """A frame that cannot be taken: its field and the offset say where; ``nak_reason`` is the
    reason byte of the NAK that answers it (:data:`~zhifu.device.commands.NAK_REASONS`)."""

    nak_reason: ClassVar[int] = NAK_BAD_LENGTH


class BadSofError(FrameError):
    """The bytes do not start with ``A5 5A``."""


class TruncatedFrameError(FrameError):
    """Fewer bytes than a header, or than the header's length announces (in a stream: the rest
    has not come yet)."""


class BadVersionError(FrameError):
    """A protocol version this end does not speak."""

    nak_reason = NAK_BAD_VERSION


class BadLengthError(FrameError):
    """A length above :data:`MAX_PAYLOAD`, or bytes after the frame."""

    nak_reason = NAK_BAD_LENGTH


class BadCrcError(FrameError):
    """The CRC does not match: the frame was damaged on the way."""

    nak_reason = NAK_BAD_CRC


class UnknownCommandError(FrameError):
    """A whole frame (its CRC matches) whose command is not in the table."""

    nak_reason = NAK_UNKNOWN_COMMAND


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of ``data``."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class Frame:
    """One frame; ``cmd`` is a code of :data:`~zhifu.device.commands.COMMANDS`."""

    seq: int
    cmd: int
    payload: bytes = b""
    flags: int = 0

    def __repr__(self) -> str:
        name = COMMANDS[self.cmd].name if self.cmd in COMMANDS else f"{self.cmd:02X}"
        return f"Frame(seq={self.seq}, {name}, {len(self.payload)} bytes, flags={self.flags:02X})"

    def encode(self) -> bytes:
        """The frame's bytes."""
        if not 0 <= self.seq <= 255 or not 0 <= self.flags <= 255:
            raise EncodeError("sequence and flags are one byte", field="seq")
        if self.cmd not in COMMANDS:
            raise EncodeError(f"no command {self.cmd:02X}", field="cmd")
        if len(self.payload) > MAX_PAYLOAD:
            raise EncodeError(f"at most {MAX_PAYLOAD} payload bytes", field="len")
        body = bytes([VERSION, self.seq, self.cmd, self.flags]) + len(self.payload).to_bytes(
            2, "big"
        ) + self.payload  # fmt: skip
        return SOF + body + crc16(body).to_bytes(2, "big")

    @classmethod
    def decode(cls, raw: bytes) -> Frame:
        """Exactly one frame (FrameError naming the field and offset otherwise)."""
        frame, used = cls.take(raw)
        if used != len(raw):
            raise BadLengthError("bytes after the frame", field="frame", offset=used)
        return frame

    @classmethod
    def take(cls, raw: bytes, start: int = 0) -> tuple[Frame, int]:
        """The frame at ``start`` and the offset just after it."""
        if raw[start : start + 2] != SOF:
            raise BadSofError("no start of frame (A5 5A)", field="sof", offset=start)
        if len(raw) < start + HEADER:
            raise TruncatedFrameError("truncated header", field="header", offset=len(raw))
        version, seq, cmd, flags = raw[start + 2 : start + 6]
        if version != VERSION:
            raise BadVersionError(f"version {version:02X}", field="ver", offset=start + 2)
        size = int.from_bytes(raw[start + 6 : start + 8], "big")
        if size > MAX_PAYLOAD:
            raise BadLengthError(
                f"length {size} above {MAX_PAYLOAD}", field="len", offset=start + 6
            )
        end = start + HEADER + size + 2
        if len(raw) < end:
            raise TruncatedFrameError("truncated frame", field="payload", offset=len(raw))
        body = raw[start + 2 : end - 2]
        if crc16(body) != int.from_bytes(raw[end - 2 : end], "big"):
            raise BadCrcError("CRC does not match", field="crc", offset=end - 2)
        if cmd not in COMMANDS:
            raise UnknownCommandError(f"unknown command {cmd:02X}", field="cmd", offset=start + 4)
        return cls(seq, cmd, bytes(raw[start + HEADER : end - 2]), flags), end


def find_frames(stream: bytes) -> tuple[list[Frame], list[FrameError], bytes]:
    """Every whole frame in ``stream`` (resynchronising on the next start after a bad one),
    the errors met, and the unfinished tail to keep for the next bytes."""
    frames: list[Frame] = []
    errors: list[FrameError] = []
    at = stream.find(SOF)
    while at >= 0:
        try:
            frame, end = Frame.take(stream, at)
        except TruncatedFrameError:  # not all here yet
            return frames, errors, stream[at:]
        except FrameError as exc:
            errors.append(exc)
            at = stream.find(SOF, at + 1)
            continue
        frames.append(frame)
        at = stream.find(SOF, end)
    return frames, errors, b""
