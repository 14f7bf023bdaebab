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
(CcidMessage(kind=111, slot=0, seq=3, data=b'\\xa5Z'), b'')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from zhifu.core.errors import DecodeError

__all__ = [
    "DATA_BLOCK",
    "MAX_DATA",
    "XFR_BLOCK",
    "CcidError",
    "CcidMessage",
    "data_block",
    "parse_messages",
    "xfr_block",
]

XFR_BLOCK: Final = 0x6F
DATA_BLOCK: Final = 0x80
MAX_DATA: Final = 65_538  # dwMaxCCIDMessageLength of a short-APDU reader, generously
_HEADER: Final = 10


class CcidError(DecodeError):
    """A CCID message that cannot be taken (its field and offset)."""


@dataclass(frozen=True)
class CcidMessage:
    """One bulk message: its type, slot, sequence number and data."""

    kind: int
    slot: int
    seq: int
    data: bytes


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
    rest = stream
    while len(rest) >= _HEADER:
        kind = rest[0]
        if kind not in (XFR_BLOCK, DATA_BLOCK):
            raise CcidError(f"message type {kind:02X}", field="bMessageType", offset=0)
        size = int.from_bytes(rest[1:5], "little")
        if size > MAX_DATA:
            raise CcidError(f"dwLength {size}", field="dwLength", offset=1)
        if rest[5] != 0:
            raise CcidError(f"slot {rest[5]}", field="bSlot", offset=5)
        if len(rest) < _HEADER + size:
            break
        message = CcidMessage(kind, rest[5], rest[6], bytes(rest[_HEADER : _HEADER + size]))
        rest = rest[_HEADER + size :]
        found.append((message, rest))
    return found
