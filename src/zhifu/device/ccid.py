"""The link over USB: frames inside CCID bulk messages (USB CCID rev 1.1, §6.1.4 and §6.2.1).

The host sends ``PC_to_RDR_XfrBlock`` (``6F``) and the terminal answers ``RDR_to_PC_DataBlock``
(``80``); each has a 10-byte header — message type, ``dwLength`` (4 bytes, little-endian),
``bSlot``, ``bSeq`` and three bytes particular to the type (XfrBlock: ``bBWI``,
``wLevelParameter``; DataBlock: ``bStatus``, ``bError``, ``bChainParameter``) — then
``dwLength`` bytes of data: here one or more link frames (:mod:`zhifu.device.frame`).
A socket or a pseudo-terminal stands in for the USB bulk pipes in tests.

>>> raw = xfr_block(3, b"\\xa5\\x5a")
>>> raw.hex(" ")
'6f 02 00 00 00 00 03 00 00 00 a5 5a'
>>> parse_messages(raw)[0]
(CcidMessage(kind=111, slot=0, seq=3, data=b'\\xa5Z', status=0), b'')

A DataBlock's ``bStatus`` (§6.2.6) holds the slot's state in bits 0–1 and the command's in bits
6–7: ``00`` processed, ``01`` failed (``bError`` says why: :class:`CcidStatusError`), ``10`` time
extension (the reader needs more time; the message carries no data and the answer follows).
Each way a message can be broken has its :class:`CcidError` class, naming the field and the
offset of the byte in the stream.

>>> parse_messages(xfr_block(1, b"") + bytes([0x62]) + bytes(9))
Traceback (most recent call last):
...
zhifu.device.ccid.CcidMessageTypeError: field bMessageType at offset 10: message type 62
>>> parse_messages(data_block(1, b"", status=0x40, error=0xFE))
Traceback (most recent call last):
...
zhifu.device.ccid.CcidStatusError: field bStatus at offset 7: command failed (bError FE)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from zhifu.core.errors import DecodeError

__all__ = [
    "COMMAND_FAILED",
    "DATA_BLOCK",
    "MAX_DATA",
    "TIME_EXTENSION",
    "XFR_BLOCK",
    "CcidError",
    "CcidLengthError",
    "CcidMessage",
    "CcidMessageTypeError",
    "CcidSlotError",
    "CcidStatusError",
    "data_block",
    "parse_messages",
    "xfr_block",
]

XFR_BLOCK: Final = 0x6F
DATA_BLOCK: Final = 0x80
MAX_DATA: Final = 65_538  # dwMaxCCIDMessageLength of a short-APDU reader, generously
_HEADER: Final = 10
COMMAND_FAILED: Final = 0x40
TIME_EXTENSION: Final = 0x80
_COMMAND_STATUS: Final = 0xC0


class CcidError(DecodeError):
    """A CCID message that cannot be taken (its field and offset)."""


class CcidMessageTypeError(CcidError):
    """Neither ``PC_to_RDR_XfrBlock`` (``6F``) nor ``RDR_to_PC_DataBlock`` (``80``)."""


class CcidLengthError(CcidError):
    """``dwLength`` above :data:`MAX_DATA`."""


class CcidSlotError(CcidError):
    """A slot other than 0 (the terminal has one)."""


class CcidStatusError(CcidError):
    """A DataBlock whose ``bStatus`` says the command failed (``bError`` names why)."""


@dataclass(frozen=True)
class CcidMessage:
    """One bulk message: its type, slot, sequence number and data."""

    kind: int
    slot: int
    seq: int
    data: bytes
    status: int = 0

    @property
    def time_extension(self) -> bool:
        """A DataBlock asking for more time: no data, the answer follows."""
        return self.kind == DATA_BLOCK and self.status & _COMMAND_STATUS == TIME_EXTENSION


def _message(kind: int, seq: int, data: bytes, tail: bytes) -> bytes:
    return bytes([kind]) + len(data).to_bytes(4, "little") + bytes([0, seq % 256]) + tail + data


def xfr_block(seq: int, data: bytes) -> bytes:
    """PC_to_RDR_XfrBlock carrying ``data`` (slot 0, BWI 0, level 0000)."""
    return _message(XFR_BLOCK, seq, data, b"\x00\x00\x00")


def data_block(seq: int, data: bytes, *, status: int = 0, error: int = 0) -> bytes:
    """RDR_to_PC_DataBlock carrying ``data`` (slot 0, chain 00)."""
    return _message(DATA_BLOCK, seq, data, bytes([status, error, 0]))


def parse_messages(stream: bytes) -> list[tuple[CcidMessage, bytes]]:
    """The whole messages at the start of ``stream``, each with the bytes left after it
    (the last one's leftover is the unfinished tail)."""
    found: list[tuple[CcidMessage, bytes]] = []
    at = 0
    while len(stream) - at >= _HEADER:
        message = _message_at(stream, at)
        if message is None:
            break
        at += _HEADER + len(message.data)
        found.append((message, bytes(stream[at:])))
    return found


def _message_at(stream: bytes, at: int) -> CcidMessage | None:
    """The message whose header starts at ``at`` (None: its data has not all come yet)."""
    kind = stream[at]
    if kind not in (XFR_BLOCK, DATA_BLOCK):
        raise CcidMessageTypeError(f"message type {kind:02X}", field="bMessageType", offset=at)
    size = int.from_bytes(stream[at + 1 : at + 5], "little")
    if size > MAX_DATA:
        raise CcidLengthError(f"dwLength {size}", field="dwLength", offset=at + 1)
    if stream[at + 5] != 0:
        raise CcidSlotError(f"slot {stream[at + 5]}", field="bSlot", offset=at + 5)
    status = stream[at + 7] if kind == DATA_BLOCK else 0
    if status & _COMMAND_STATUS == COMMAND_FAILED:
        raise CcidStatusError(
            f"command failed (bError {stream[at + 8]:02X})",
            field="bStatus", offset=at + 7,
        )  # fmt: skip
    if len(stream) - at < _HEADER + size:
        return None
    data = bytes(stream[at + _HEADER : at + _HEADER + size])
    return CcidMessage(kind, stream[at + 5], stream[at + 6], data, status)
