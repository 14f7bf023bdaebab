"""The app's side of the link: commands to the terminal, its events, and the relay of the
terminal's host messages to the acquirer over the phone's network.

:class:`PhoneSdk` sends a command and waits for its ``RESULT`` (or answer), keeping every event
the terminal sends on the way in :attr:`PhoneSdk.events` (and giving it to ``on_event``); a
``RELAY`` frame is a host message: the SDK writes it to the acquirer's TCP port as it came
(length-prefixed ISO 8583 frame) and relays the answer frame back — or, when the terminal
tunnels TLS (its device information says ``"relay": "tls"``), relays TLS records both ways,
which the app cannot read. Over an
:class:`~zhifu.device.endpoint.Endpoint` with several transports, a failed one is replaced by
the next and the exchange goes on. :class:`AsyncPhoneSdk` runs the same calls off the event
loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from typing import Any, Final

from zhifu.core.errors import ZhifuError
from zhifu.device.commands import by_name
from zhifu.device.endpoint import Endpoint

__all__ = ["AsyncPhoneSdk", "LinkedCard", "PhoneSdk", "SdkError"]

_CODE: Final = {name: by_name(name).code for name in (
    "DEVICE_INFO", "DEVICE_INFO_ANSWER", "START_TRANSACTION", "RELAY", "RESULT", "SIGN_ON",
    "SETTLE", "CANCEL", "ERROR", "CARD_APDU", "CARD_APDU_ANSWER", "CARD_POWER",
    "CARD_POWER_ANSWER",
)}  # fmt: skip
_EVENTS: Final = {by_name(n).code: n for n in ("DISPLAY", "CARD_EVENT", "PIN_PROGRESS")}


class SdkError(ZhifuError):
    """The terminal or the host could not be reached, or answered an error."""


class PhoneSdk:
    """Drive one terminal; ``host`` is the acquirer's ``(address, port)``."""

    def __init__(
        self, endpoint: Endpoint, host: tuple[str, int], *, timeout: float = 30.0,
        on_event: Callable[[str, Any], None] | None = None,
    ) -> None:  # fmt: skip
        self.endpoint, self.host, self.timeout = endpoint, host, timeout
        self.on_event = on_event
        self.events: list[tuple[str, Any]] = []
        self._host: socket.socket | None = None
        self.relay = "frames"  # or "tls": the terminal tunnels TLS records (device info says)

    def close(self) -> None:
        """Close the host connection and the link."""
        if self._host is not None:
            self._host.close()
        self.endpoint.close()

    # ------------------------------------------------------------------ the calls

    def connect(self) -> dict[str, Any]:
        """The terminal's device information (and how it relays its host messages)."""
        info = self._call(_CODE["DEVICE_INFO"], b"", _CODE["DEVICE_INFO_ANSWER"])
        self.relay = str(info.get("relay", "frames"))
        return info

    def sign_on(self) -> dict[str, Any]:
        """Sign the terminal on at the host."""
        return self._call(_CODE["SIGN_ON"])

    def purchase(self, amount: int) -> dict[str, Any]:
        """A purchase of ``amount`` fen."""
        return self._start("purchase", amount)

    def balance(self) -> dict[str, Any]:
        """A balance inquiry."""
        return self._start("balance", 0)

    def ecash_load(self, amount: int) -> dict[str, Any]:
        """An e-cash load of ``amount`` fen."""
        return self._start("ecash-load", amount)

    def settle(self) -> dict[str, Any]:
        """Settle the terminal's batch."""
        return self._call(_CODE["SETTLE"])

    def cancel(self) -> None:
        """Ask the terminal to stop what it is doing."""
        self.endpoint.send(_CODE["CANCEL"])

    def card_power(self, on: bool = True) -> bytes:
        """Power the card in the terminal's slot on (its ATR) or off."""
        return self._raw(_CODE["CARD_POWER"], b"\x01" if on else b"\x00",
                         _CODE["CARD_POWER_ANSWER"])  # fmt: skip

    def card_apdu(self, apdu: bytes) -> bytes:
        """One command APDU to the card in the terminal's slot; its response APDU."""
        return self._raw(_CODE["CARD_APDU"], apdu, _CODE["CARD_APDU_ANSWER"])

    def _raw(self, cmd: int, payload: bytes, answer: int) -> bytes:
        self.endpoint.send(cmd, payload)
        deadline = self.endpoint.clock() + self.timeout
        while (left := deadline - self.endpoint.clock()) > 0:
            frame = self.endpoint.receive(left)
            if frame is None:
                break
            if frame.cmd == answer:
                return frame.payload
            if frame.cmd == _CODE["ERROR"]:
                raise SdkError(f"the terminal answered an error: {frame.payload[2:].decode()}")
        raise SdkError(f"no answer from the terminal within {self.timeout:g} s")

    # ------------------------------------------------------------------ the exchange

    def _start(self, kind: str, amount: int) -> dict[str, Any]:
        asked = {"kind": kind, "amount": amount, "currency": "156"}
        return self._call(_CODE["START_TRANSACTION"], json.dumps(asked).encode())

    def _call(self, cmd: int, payload: bytes = b"", answer: int | None = None) -> dict[str, Any]:
        wanted = answer if answer is not None else _CODE["RESULT"]
        self.endpoint.send(cmd, payload)
        deadline = self.endpoint.clock() + self.timeout
        while (left := deadline - self.endpoint.clock()) > 0:
            frame = self.endpoint.receive(left)
            if frame is None:
                break
            if frame.cmd == _CODE["RELAY"]:
                self._relay(frame.payload)
            elif frame.cmd in _EVENTS:
                self._event(_EVENTS[frame.cmd], frame.payload)
            elif frame.cmd == _CODE["ERROR"]:
                text = frame.payload.decode("utf-8", "replace")
                raise SdkError(f"the terminal answered error {text[:2]}: {text[2:]}")
            elif frame.cmd == wanted:
                return _object(frame.payload)
        raise SdkError(f"no answer from the terminal within {self.timeout:g} s")

    def _event(self, name: str, payload: bytes) -> None:
        value: Any = (payload[:1] or b"\x00")[0] if name == "PIN_PROGRESS" else _object(payload)
        self.events.append((name, value))
        if self.on_event is not None:
            self.on_event(name, value)

    def _relay(self, payload: bytes) -> None:
        if self.relay != "tls":
            self.endpoint.send(_CODE["RELAY"], self._to_host(payload))
            return
        answer = self._stream(payload[1:], wait=payload[:1] == b"\x01")  # TLS records, opaque
        if payload[:1] == b"\x01":
            self.endpoint.send(_CODE["RELAY"], answer)

    def _connection(self) -> socket.socket:
        if self._host is None:
            self._host = socket.create_connection(self.host, timeout=self.timeout)
        return self._host

    def _stream(self, data: bytes, *, wait: bool) -> bytes:
        """Bytes to the host; with ``wait``, what it sends back (at least one byte, then
        whatever follows at once)."""
        try:
            sock = self._connection()
            if data:
                sock.sendall(data)
            if not wait:
                return b""
            sock.settimeout(self.timeout)
            answer = sock.recv(65536)
            sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError, BlockingIOError):
                while chunk := sock.recv(65536):
                    answer += chunk
            return answer
        except OSError as exc:
            raise SdkError(f"cannot reach the host ({exc})") from None
        finally:
            if self._host is not None:
                self._host.settimeout(self.timeout)

    def _to_host(self, frame: bytes) -> bytes:
        """One host message out over the network; the answer frame's body back."""
        try:
            self._connection().sendall(frame)
            size = int.from_bytes(self._recv(2), "big")
            return self._recv(size)
        except OSError as exc:
            if self._host is not None:
                self._host.close()
                self._host = None
            raise SdkError(f"cannot reach the host ({exc})") from None

    def _recv(self, size: int) -> bytes:
        assert self._host is not None
        data = b""
        while len(data) < size:
            chunk = self._host.recv(size - len(data))
            if not chunk:
                raise OSError("the host closed the connection")
            data += chunk
        return data


def _object(payload: bytes) -> dict[str, Any]:
    """A JSON object from the terminal (SdkError when it is not one)."""
    try:
        value = json.loads(payload)
    except ValueError:
        raise SdkError("the terminal sent something that is not JSON") from None
    if not isinstance(value, dict):
        raise SdkError("the terminal sent JSON that is not an object")
    return value


class LinkedCard:
    """The card in the terminal's slot as a PC/SC client sees it, through the phone link:
    serve it to pcscd with :class:`~zhifu.card.readers.vpcd.VpcdCardServer` and any PC/SC
    tool (``opensc-tool``) talks to it."""

    def __init__(self, sdk: PhoneSdk) -> None:
        self.sdk = sdk
        self._atr = b""

    @property
    def atr(self) -> bytes:
        """The ATR of the last power-on (asked for when there was none)."""
        if not self._atr:
            self._atr = self.sdk.card_power(True)
        return self._atr

    def power_on(self) -> bytes:
        """Power the card on."""
        self._atr = self.sdk.card_power(True)
        return self._atr

    def power_off(self) -> None:
        """Power the card off."""
        self.sdk.card_power(False)

    def transmit(self, apdu: bytes) -> bytes:
        """One APDU through the link."""
        return self.sdk.card_apdu(apdu)


class AsyncPhoneSdk:
    """:class:`PhoneSdk` for asyncio apps: each call runs in a worker thread."""

    def __init__(self, sdk: PhoneSdk) -> None:
        self.sdk = sdk

    async def connect(self) -> dict[str, Any]:
        """The terminal's device information."""
        return await asyncio.to_thread(self.sdk.connect)

    async def sign_on(self) -> dict[str, Any]:
        """Sign the terminal on."""
        return await asyncio.to_thread(self.sdk.sign_on)

    async def purchase(self, amount: int) -> dict[str, Any]:
        """A purchase of ``amount`` fen."""
        return await asyncio.to_thread(self.sdk.purchase, amount)

    async def balance(self) -> dict[str, Any]:
        """A balance inquiry."""
        return await asyncio.to_thread(self.sdk.balance)

    async def ecash_load(self, amount: int) -> dict[str, Any]:
        """An e-cash load."""
        return await asyncio.to_thread(self.sdk.ecash_load, amount)

    async def cancel(self) -> None:
        """Ask the terminal to stop."""
        await asyncio.to_thread(self.sdk.cancel)
