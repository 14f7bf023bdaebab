"""Framing on TCP (docs/standards/iso8583-cup.md §1): length, TPDU, message header.

::

    | LEN (2, binary) | TPDU (5, BCD) | HEADER (6, BCD) | MTI | BITMAP | fields ... |

``LEN`` counts every byte after itself. The TPDU is ``60`` + destination (2 bytes, the NII of
the acquirer) + source (2 bytes); a reply swaps destination and source. The header is twelve
BCD digits: application type, version, terminal status (high nibble of byte 3) and processing
requirement (low nibble), software sub-version.

TPDU and header digits are kept as hex text and not checked beyond their size: acquirers put
what they like there, and a host must still be able to answer.

>>> raw = bytes.fromhex("0015" "6006010000" "613100311108" "0800" "0000000000000000")
>>> fr = unframe(raw)
>>> fr.tpdu.destination, fr.tpdu.source, fr.header.application_type, fr.message.hex()
('0601', '0000', '61', '08000000000000000000')
>>> fr.tpdu.reply().hex
'6000000601'
>>> frame(fr) == raw
True
>>> unframe(raw[:-1])
Traceback (most recent call last):
...
zhifu.core.errors.DecodeError: field length at offset 0: the length prefix says 21 bytes, 20 follow
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket

from zhifu.core.errors import DecodeError, EncodeError, UsageError

__all__ = [
    "HEADER_SIZE",
    "LENGTH_SIZE",
    "MAX_FRAME_LENGTH",
    "MESSAGE_OFFSET",
    "PROCESSING_REQUIREMENTS",
    "TPDU_SIZE",
    "Frame",
    "Header",
    "Tpdu",
    "frame",
    "read_frame",
    "read_frame_body",
    "receive_frame_body",
    "unframe",
    "unframe_body",
]

LENGTH_SIZE = 2
TPDU_SIZE = 5
HEADER_SIZE = 6
MESSAGE_OFFSET = LENGTH_SIZE + TPDU_SIZE + HEADER_SIZE
"""Where the MTI starts in a whole frame (13)."""
MAX_FRAME_LENGTH = 8192
"""Default largest body (after the length prefix) a reader accepts."""
_MIN_BODY = TPDU_SIZE + HEADER_SIZE + 10

PROCESSING_REQUIREMENTS: dict[str, str] = {
    "0": "none",
    "1": "download magnetic-stripe parameters",
    "2": "upload terminal status",
    "3": "sign on again",
    "4": "update CA public keys",
    "5": "download IC parameters",
    "6": "TMS parameter download",
    "7": "card-BIN blacklist download",
    "8": "currency-rate / fee-rate download",
}
"""Header digit 6, host to terminal (docs/standards/iso8583-cup.md §1, ET)."""


_HEX_DIGITS = frozenset("0123456789ABCDEF")


def _hex_of(data: bytes | str, size: int, argument: str) -> str:
    if isinstance(data, str):
        text = data.upper()
        if len(text) != size * 2 or not _HEX_DIGITS.issuperset(text):
            raise UsageError(f"must be {size * 2} hex digits", argument=argument)
        return text
    if len(data) != size:
        raise UsageError(f"must be {size} bytes", argument=argument)
    return bytes(data).hex().upper()


@dataclasses.dataclass(frozen=True)
class Tpdu:
    """Transport protocol data unit: id (``60``), destination and source addresses."""

    hex: str = "6000000000"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hex", _hex_of(self.hex, TPDU_SIZE, "tpdu"))

    @classmethod
    def build(cls, destination: str, source: str = "0000", tpdu_id: str = "60") -> Tpdu:
        """A TPDU from its parts (hex text: 2 + 4 + 4 digits)."""
        return cls(tpdu_id + destination + source)

    @property
    def id(self) -> str:
        """The TPDU id (``60``)."""
        return self.hex[:2]

    @property
    def destination(self) -> str:
        """Destination address (the NII of the acquirer or network access point)."""
        return self.hex[2:6]

    @property
    def source(self) -> str:
        """Source address."""
        return self.hex[6:10]

    def reply(self) -> Tpdu:
        """The TPDU of the response: destination and source swapped."""
        return Tpdu(self.id + self.source + self.destination)

    def to_bytes(self) -> bytes:
        """The 5 bytes on the wire."""
        return bytes.fromhex(self.hex)


@dataclasses.dataclass(frozen=True)
class Header:
    """The 6-byte message header (报文头), twelve BCD digits."""

    hex: str = "603100000000"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hex", _hex_of(self.hex, HEADER_SIZE, "header"))

    @classmethod
    def build(
        cls,
        application_type: str = "60",
        version: str = "31",
        terminal_status: str = "0",
        processing_requirement: str = "0",
        software_version: str = "000000",
    ) -> Header:
        """A header from its parts (2 + 2 + 1 + 1 + 6 digits)."""
        return cls(
            application_type + version + terminal_status + processing_requirement + software_version
        )

    @property
    def application_type(self) -> str:
        """Digits 1-2: ``60`` magnetic stripe, ``61`` IC card, ``62``/``63`` value-added."""
        return self.hex[0:2]

    @property
    def version(self) -> str:
        """Digits 3-4: specification / software major version."""
        return self.hex[2:4]

    @property
    def terminal_status(self) -> str:
        """Digit 5: terminal status (``0`` normal)."""
        return self.hex[4]

    @property
    def processing_requirement(self) -> str:
        """Digit 6: what the host asks of the terminal (see PROCESSING_REQUIREMENTS)."""
        return self.hex[5]

    @property
    def software_version(self) -> str:
        """Digits 7-12: software sub-version."""
        return self.hex[6:12]

    def with_requirement(self, requirement: str) -> Header:
        """The same header with another processing requirement digit."""
        return Header(self.hex[:5] + requirement + self.hex[6:])

    def to_bytes(self) -> bytes:
        """The 6 bytes on the wire."""
        return bytes.fromhex(self.hex)


@dataclasses.dataclass(frozen=True)
class Frame:
    """One frame: TPDU, header and the message bytes (from the MTI on)."""

    tpdu: Tpdu
    header: Header
    message: bytes

    @property
    def body(self) -> bytes:
        """Everything the length prefix counts."""
        return self.tpdu.to_bytes() + self.header.to_bytes() + self.message

    def to_bytes(self) -> bytes:
        """The whole frame, length prefix included."""
        return frame(self)

    def reply(self, message: bytes, header: Header | None = None) -> Frame:
        """A response frame: TPDU swapped, the same header unless another is given."""
        return Frame(self.tpdu.reply(), header or self.header, message)


def frame(tpdu: Frame | Tpdu, header: Header | None = None, message: bytes | None = None) -> bytes:
    """A whole frame: ``frame(Frame)`` or ``frame(tpdu, header, message)``."""
    if isinstance(tpdu, Frame):
        body = tpdu.body
    else:
        if header is None or message is None:
            raise UsageError("give a Frame, or a TPDU, a header and a message", argument="header")
        body = tpdu.to_bytes() + header.to_bytes() + bytes(message)
    if len(body) > 0xFFFF:
        raise EncodeError(f"a frame body of {len(body)} bytes does not fit the 2-byte length")
    return len(body).to_bytes(LENGTH_SIZE, "big") + body


def unframe_body(body: bytes, *, offset_base: int = LENGTH_SIZE) -> Frame:
    """A frame from its body (TPDU, header, message: what the length prefix counts)."""
    data = bytes(body)
    if len(data) < _MIN_BODY:
        part, where = ("tpdu", 0) if len(data) < TPDU_SIZE else ("header", TPDU_SIZE)
        if len(data) >= TPDU_SIZE + HEADER_SIZE:
            part, where = "bitmap", TPDU_SIZE + HEADER_SIZE
        raise DecodeError(
            f"a frame body of {len(data)} bytes is shorter than the {_MIN_BODY} minimum",
            field=part,
            offset=offset_base + where,
        )
    tpdu = Tpdu(data[:TPDU_SIZE].hex())
    header = Header(data[TPDU_SIZE : TPDU_SIZE + HEADER_SIZE].hex())
    return Frame(tpdu, header, data[TPDU_SIZE + HEADER_SIZE :])


def unframe(data: bytes, *, length_prefix: bool = True) -> Frame:
    """A whole frame (length prefix first) split into TPDU, header and message.

    ``length_prefix=False`` takes a frame without its length (TPDU first), as some logs print it.
    """
    raw = bytes(data)
    if not length_prefix:
        return unframe_body(raw, offset_base=0)
    if len(raw) < LENGTH_SIZE:
        raise DecodeError("no room for the 2-byte length prefix", field="length", offset=0)
    declared = int.from_bytes(raw[:LENGTH_SIZE], "big")
    actual = len(raw) - LENGTH_SIZE
    if declared != actual:
        raise DecodeError(
            f"the length prefix says {declared} bytes, {actual} follow", field="length", offset=0
        )
    return unframe_body(raw[LENGTH_SIZE:])


async def read_frame_body(
    reader: asyncio.StreamReader, *, max_length: int = MAX_FRAME_LENGTH
) -> bytes | None:
    """Read one frame body (what the length prefix counts); None at a clean end of stream.

    A length over ``max_length`` raises :class:`DecodeError` before anything more is read (the
    stream is then out of step: close it). A stream that ends inside a frame raises
    :class:`DecodeError` too.
    """
    try:
        prefix = await reader.readexactly(LENGTH_SIZE)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise DecodeError("the stream ended inside the length prefix", field="length") from None
    length = int.from_bytes(prefix, "big")
    if length > max_length:
        raise DecodeError(
            f"a frame of {length} bytes exceeds the {max_length} allowed", field="length", offset=0
        )
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise DecodeError(
            f"the stream ended after {len(exc.partial)} of {length} bytes", field="length"
        ) from None


async def read_frame(
    reader: asyncio.StreamReader, *, max_length: int = MAX_FRAME_LENGTH
) -> Frame | None:
    """Read and split one frame; None at a clean end of stream.

    A body too short for TPDU, header, MTI and bitmap raises :class:`DecodeError` after it was
    read whole, so the stream stays in step and the caller may answer and carry on.
    """
    body = await read_frame_body(reader, max_length=max_length)
    return None if body is None else unframe_body(body)


def receive_frame_body(sock: socket.socket, *, max_length: int = MAX_FRAME_LENGTH) -> bytes:
    """Read one frame body from a blocking socket (the synchronous :func:`read_frame_body`).

    Raises :class:`ConnectionError` when the peer closes before the frame is whole, and
    :class:`DecodeError` for a length over ``max_length``.
    """
    length = int.from_bytes(_receive_exactly(sock, LENGTH_SIZE), "big")
    if length > max_length:
        raise DecodeError(
            f"a frame of {length} bytes exceeds the {max_length} allowed", field="length", offset=0
        )
    return _receive_exactly(sock, length)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the peer closed the connection")
        data += chunk
    return bytes(data)
