"""The commands of the phone link, as a table: code, name, who sends it, what it carries.

The host is the phone or PC app, the terminal is the
mini mPOS. Codes below ``0x80`` are requests or events, their answers have the high bit set
(request | ``0x80``); ``ACK``/``NAK`` are link-level and carry the sequence number they answer.

>>> COMMANDS[0x10].name, COMMANDS[0x10].sender
('START_TRANSACTION', 'host')
>>> by_name("RESULT").code
32
>>> error_payload(ERROR_NOT_SUPPORTED, "not supported")
b'40not supported'
>>> NAK_REASONS[NAK_UNKNOWN_COMMAND]
'unknown command: a whole frame whose command is not in this table'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "ACK",
    "CARD_EVENTS",
    "COMMANDS",
    "ERROR_BAD_REQUEST",
    "ERROR_CARD",
    "ERROR_CODES",
    "ERROR_NOT_SUPPORTED",
    "NAK",
    "NAK_BAD_CRC",
    "NAK_BAD_LENGTH",
    "NAK_BAD_VERSION",
    "NAK_REASONS",
    "NAK_UNKNOWN_COMMAND",
    "Command",
    "by_name",
    "error_payload",
]

Sender = Literal["host", "terminal", "both"]


@dataclass(frozen=True)
class Command:
    """One command of the protocol."""

    code: int
    name: str
    sender: Sender
    payload: str


_TABLE: Final = (
    Command(0x01, "ACK", "both", "empty: the frame of this sequence number arrived whole"),
    Command(
        0x02,
        "NAK",
        "both",
        "n1 reason: 01 bad CRC, 02 bad length, 03 unknown command, 04 bad version",
    ),
    Command(0x03, "ERROR", "both", "2 ASCII digits of ERROR_CODES, then UTF-8 text"),
    Command(0x04, "DEVICE_INFO", "host", "empty"),
    Command(0x84, "DEVICE_INFO_ANSWER", "terminal", "JSON: model, serial, versions, screen"),
    Command(0x05, "HELLO", "both", "reserved (the secure channel is TLS inside RELAY)"),
    Command(0x06, "SECURE", "both", "reserved (the secure channel is TLS inside RELAY)"),
    Command(0x10, "START_TRANSACTION", "host", "JSON: kind, amount (fen), currency, original"),
    Command(0x11, "DISPLAY", "terminal", "JSON: the four screen lines, phase"),
    Command(0x12, "CARD_EVENT", "terminal", "JSON: event, one of CARD_EVENTS"),
    Command(0x13, "PIN_PROGRESS", "terminal", "n1: digits entered (never the digits)"),
    Command(0x14, "RELAY", "both", "a host message, or TLS records: flag byte ‖ bytes"),
    Command(0x20, "RESULT", "terminal", "JSON: response code, approved, masked PAN, receipt"),
    Command(0x21, "SIGN_ON", "host", "empty"),
    Command(0x22, "SETTLE", "host", "empty"),
    Command(0x23, "DOWNLOAD", "host", "a signed download package (zhifu-download/1)"),
    Command(0x24, "CANCEL", "host", "empty"),
    Command(0x25, "RESUME", "host", "reserved: n1, the last sequence number received (not sent)"),
    Command(0x26, "CARD_APDU", "host", "a command APDU for the card in the terminal's slot"),
    Command(0xA6, "CARD_APDU_ANSWER", "terminal", "the card's response APDU (data ‖ SW1 SW2)"),
    Command(0x27, "CARD_POWER", "host", "n1: 01 power the card on, 00 off"),
    Command(0xA7, "CARD_POWER_ANSWER", "terminal", "the card's ATR (empty after power off)"),
)

COMMANDS: Final[dict[int, Command]] = {command.code: command for command in _TABLE}
"""Code -> command."""
ACK: Final = 0x01
NAK: Final = 0x02

NAK_BAD_CRC: Final = 0x01
NAK_BAD_LENGTH: Final = 0x02
NAK_UNKNOWN_COMMAND: Final = 0x03
NAK_BAD_VERSION: Final = 0x04
NAK_REASONS: Final[dict[int, str]] = {
    NAK_BAD_CRC: "bad CRC: the frame was damaged on the way (the sender resends it)",
    NAK_BAD_LENGTH: "bad length: above 1,024, or a frame that does not end where it says",
    NAK_UNKNOWN_COMMAND: "unknown command: a whole frame whose command is not in this table",
    NAK_BAD_VERSION: "bad version: a protocol version this end does not speak",
}
"""The reason byte of a NAK -> what it means."""

ERROR_BAD_REQUEST: Final = "30"
ERROR_NOT_SUPPORTED: Final = "40"
ERROR_CARD: Final = "45"
ERROR_CODES: Final[dict[str, str]] = {
    ERROR_BAD_REQUEST: "bad request: the payload is not what the command takes",
    ERROR_NOT_SUPPORTED: "not supported: this end does not take that command",
    ERROR_CARD: "card: the card in the slot could not be powered or did not answer",
}
"""The code an ``ERROR`` payload starts with (two ASCII digits) -> what it means."""

CARD_EVENTS: Final = ("inserted", "tapped", "swiped", "removed")
"""The values of ``event`` in a ``CARD_EVENT`` payload (``{"event": "inserted"}``)."""


def error_payload(code: str, text: str) -> bytes:
    """An ``ERROR`` payload: the code of :data:`ERROR_CODES`, then at most 200 bytes of text."""
    if code not in ERROR_CODES:
        raise KeyError(code)
    return code.encode("ascii") + text.encode()[:200]


def by_name(name: str) -> Command:
    """The command named ``name``."""
    for command in _TABLE:
        if command.name == name:
            return command
    raise KeyError(name)
