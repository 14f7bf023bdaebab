"""The terminal served to a phone: the mini mPOS end of the link (``docs/device-protocol.md``).

:class:`PhoneServer` answers the app's commands over a :class:`~zhifu.device.endpoint.Endpoint`:
``DEVICE_INFO``, ``SIGN_ON``, ``START_TRANSACTION`` (purchase, balance, e-cash load…),
``SETTLE``; while a transaction runs it tells the app what happens (``DISPLAY``,
``CARD_EVENT``, ``PIN_PROGRESS`` with the count of digits only), and its messages to the host
go through the phone as ``RELAY`` frames (the terminal has no network of its own): the app
forwards each to the acquirer and relays the answer back. Without ``tls`` the phone sees what
the ISO 8583 dialect carries on any network (the PIN block enciphered under the PIK, the track
under the TDK, the MAC; never a clear PIN or track; the PAN in field 2); with ``tls`` the
terminal speaks TLS 1.3 to the acquirer through the phone (:mod:`zhifu.terminal.tunnel`) and
the phone relays records it cannot read (``RELAY`` payload: a flag byte, ``01`` when the
host's answer is wanted now, then the bytes). The result (``RESULT``) has the masked
PAN only. In this emulation the card in the slot and the digits typed on the keypad are given
to the server (``card``, ``pin``).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from typing import Any, Final

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.readers import CardReader, InProcessReader
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.device.commands import (
    ERROR_BAD_REQUEST,
    ERROR_CARD,
    ERROR_NOT_SUPPORTED,
    by_name,
    error_payload,
)
from zhifu.device.endpoint import Endpoint
from zhifu.device.frame import Frame
from zhifu.terminal.core import Terminal
from zhifu.terminal.flow import Card
from zhifu.terminal.link import NoAnswerError, RelayLink
from zhifu.terminal.tunnel import TlsTunnelLink

__all__ = ["MODEL", "PhoneServer"]

MODEL: Final = {"model": "zhifu mini mPOS", "screen": [128, 64],
                "interfaces": ["contact", "contactless", "magstripe"]}  # fmt: skip
_CODE = {name: by_name(name).code for name in (
    "DEVICE_INFO", "DEVICE_INFO_ANSWER", "START_TRANSACTION", "DISPLAY", "CARD_EVENT",
    "PIN_PROGRESS", "RELAY", "RESULT", "SIGN_ON", "SETTLE", "CANCEL", "ERROR", "CARD_APDU",
    "CARD_APDU_ANSWER", "CARD_POWER", "CARD_POWER_ANSWER",
)}  # fmt: skip


_CARD_EVENT: Final = {"insert": "inserted", "tap": "tapped", "swipe": "swiped"}
"""How the card is presented -> the CARD_EVENT it makes (a value of CARD_EVENTS)."""


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class PhoneServer:
    """Serve one terminal to the app at the other end of ``endpoint``."""

    def __init__(
        self, terminal: Terminal, endpoint: Endpoint, *, card: Card, pin: str | None = None,
        how: str = "insert", relay_timeout: float = 15.0, tls: ssl.SSLContext | None = None,
    ) -> None:  # fmt: skip
        self.terminal, self.endpoint = terminal, endpoint
        if how not in _CARD_EVENT:
            raise UsageError(f"one of {', '.join(_CARD_EVENT)}", argument="how")
        self.card, self.pin, self.how = card, pin, how
        self.relay_timeout = relay_timeout
        self.held: list[Frame] = []
        self.reader: CardReader | None = None  # the slot, opened for CARD_POWER / CARD_APDU
        self.tunnel = tls is not None
        terminal.relay = TlsTunnelLink(self._stream, tls) if tls else RelayLink(self._carry)

    def _stream(self, data: bytes, wait: bool) -> bytes:
        """TLS records out through the phone (flag byte 01: answer with the host's bytes)."""
        if not wait:
            self.endpoint.send(_CODE["RELAY"], b"\x00" + data)
            return b""
        return self._carry(b"\x01" + data)

    def _carry(self, frame: bytes) -> bytes:
        """A host message out through the phone, its answer back."""
        try:
            self.endpoint.send(_CODE["RELAY"], frame)
            deadline = self.endpoint.clock() + self.relay_timeout
            while (left := deadline - self.endpoint.clock()) > 0:
                answer = self.endpoint.receive(left)
                if answer is not None and answer.cmd == _CODE["RELAY"]:
                    return answer.payload
                if answer is not None:
                    self.held.append(answer)
        except ZhifuError as exc:
            raise NoAnswerError(f"the phone link failed ({exc})") from None
        raise NoAnswerError("the phone relayed no answer from the host")

    def serve(self, until: Callable[[], bool], poll: float = 0.05) -> None:
        """Answer commands until ``until()`` is true."""
        while not until():
            frame = self.held.pop(0) if self.held else self.endpoint.receive(poll)
            if frame is not None:
                self.handle(frame)

    def handle(self, frame: Frame) -> None:
        """Answer one command."""
        code = frame.cmd
        if code == _CODE["DEVICE_INFO"]:
            info = {**MODEL, "terminal_id": self.terminal.state.terminal_id,
                    "relay": "tls" if self.tunnel else "frames"}  # fmt: skip
            self.endpoint.send(_CODE["DEVICE_INFO_ANSWER"], _json(info))
        elif code == _CODE["SIGN_ON"]:
            self._result("signon", lambda: _management(self.terminal.sign_on().get("39")))
        elif code == _CODE["SETTLE"]:
            self._result("settle", lambda: dict(self.terminal.settle()))
        elif code == _CODE["START_TRANSACTION"]:
            try:
                asked = json.loads(frame.payload or b"{}")
                if not isinstance(asked, dict) or not str(asked.get("amount", 0)).isdigit():
                    raise ValueError("an object with an amount in fen")
            except ValueError as exc:  # JSON errors too: the app's request, not the terminal's
                self.endpoint.send(
                    _CODE["ERROR"], error_payload(ERROR_BAD_REQUEST, f"bad request: {exc}")
                )
                return
            self._transaction(asked)
        elif code in (_CODE["CARD_POWER"], _CODE["CARD_APDU"]):
            self._card_command(code, frame.payload)
        elif code != _CODE["CANCEL"]:
            self.endpoint.send(_CODE["ERROR"], error_payload(ERROR_NOT_SUPPORTED, "not supported"))

    def _card_command(self, code: int, payload: bytes) -> None:
        """The card in the slot, straight to the app (a PC/SC reader through the phone)."""
        try:
            if code == _CODE["CARD_POWER"]:
                atr = self._power(payload[:1] == b"\x01")
                self.endpoint.send(_CODE["CARD_POWER_ANSWER"], atr)
                return
            if self.reader is None:
                self._power(on=True)
            assert self.reader is not None
            self.endpoint.send(_CODE["CARD_APDU_ANSWER"], self.reader.transmit(payload))
        except ZhifuError as exc:
            self.endpoint.send(_CODE["ERROR"], error_payload(ERROR_CARD, str(exc)))

    def _power(self, on: bool) -> bytes:
        if self.reader is not None:
            self.reader.disconnect()
            self.reader = None
        if not on:
            return b""
        card = self.card
        reader = card if isinstance(card, CardReader) else InProcessReader(
            card if isinstance(card, EmulatedCard) else EmulatedCard.load(card)
        )  # fmt: skip
        self.reader = reader
        return reader.connect()

    def _result(self, kind: str, work: Callable[[], dict[str, Any]]) -> None:
        try:
            data = {"kind": kind, **work()}
        except NoAnswerError as exc:
            data = {"kind": kind, "answered": False, "message": str(exc)}
        self.endpoint.send(_CODE["RESULT"], _json(data))

    def _transaction(self, asked: dict[str, Any]) -> None:
        kind, amount = str(asked.get("kind", "purchase")), int(asked.get("amount", 0))
        self.endpoint.send(_CODE["DISPLAY"], _json({"lines": [kind, str(amount)], "phase": "card"}))
        self.endpoint.send(_CODE["CARD_EVENT"], _json({"event": _CARD_EVENT[self.how]}))
        if self.pin is not None:
            for count in range(1, len(self.pin) + 1):
                self.endpoint.send(_CODE["PIN_PROGRESS"], bytes([count]))
        options = {"swipe": self.how == "swipe", "tap": self.how == "tap"}
        self._result(kind, lambda: self.terminal.transact(
            kind, self.card, pin=self.pin, amount=amount, original=asked.get("original"),
            **options,
        ).as_json())  # fmt: skip


def _management(code: str | None) -> dict[str, Any]:
    return {"response_code": code or "", "approved": code == "00", "answered": True}
