"""A purchase driven from the phone SDK, over each transport, through the terminal to zhifu's
acquirer and back: the terminal's host messages go through the phone (RELAY); the phone never
sees a clear PIN or track (canaries); pulling the USB cable mid-transaction switches to the
audio jack and the purchase finishes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.device.endpoint import Endpoint
from zhifu.device.transport import AudioTransport, Transport, UsbTransport
from zhifu.issuer import Issuer
from zhifu.sdk import PhoneSdk
from zhifu.sdk.client import SdkError
from zhifu.terminal import Terminal
from zhifu.terminal.chip import ChipSession
from zhifu.terminal.phone import PhoneServer

LMK = "5A" * 32
MID = "898100012345678"
PIN = "9473158260"  # long enough to be a canary


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundAcquirer]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    config = AcquirerConfig.local(tmp_path / "var", port=0)
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield background
    background.stop()


class Recording:
    """A transport that keeps every byte the phone receives or sends."""

    def __init__(self, inner: Transport, seen: list[bytes]) -> None:
        self.inner, self.seen, self.name = inner, seen, inner.name

    def write(self, data: bytes) -> None:
        self.seen.append(data)
        self.inner.write(data)

    def read(self, timeout: float) -> bytes:
        data = self.inner.read(timeout)
        self.seen.append(data)
        return data

    def close(self) -> None:
        self.inner.close()


def _setup(host: BackgroundAcquirer, tmp_path: Path) -> tuple[Terminal, Path]:
    services = host.host.services
    reg = register_terminal(services.registry, services.hsm, MID, "10000099")
    parts = [c.material.reveal().hex() for c in reg.components]
    term = Terminal.init(tmp_path / "term", MID, "10000099", parts)
    issuer = services.issuer
    assert isinstance(issuer, Issuer)
    card = tmp_path / "card.json"
    issuer.issue_card("debit", 100_000, PIN, card)
    return term, card


def _run_terminal(server: PhoneServer) -> tuple[threading.Thread, Callable[[], None]]:
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop.is_set,), daemon=True)
    thread.start()
    return thread, stop.set


@pytest.mark.parametrize("kind", ["usb", "audio"])
def test_a_purchase_from_the_phone_over_each_transport(
    host: BackgroundAcquirer, tmp_path: Path, kind: str
) -> None:
    term, card = _setup(host, tmp_path)
    phone_sock, term_sock = socket.socketpair()
    if kind == "usb":
        phone_side: Transport = UsbTransport(phone_sock, host=True)
        term_side: Transport = UsbTransport(term_sock, host=False)
    else:
        phone_side = AudioTransport(phone_sock, snr_db=20.0, seed=1)
        term_side = AudioTransport(term_sock, snr_db=20.0, seed=2)
    seen: list[bytes] = []
    server = PhoneServer(term, Endpoint([term_side]), card=card, pin=PIN)
    thread, stop = _run_terminal(server)
    sdk = PhoneSdk(Endpoint([Recording(phone_side, seen)]), ("127.0.0.1", host.port))
    try:
        assert sdk.connect()["terminal_id"] == "10000099"
        assert sdk.sign_on()["approved"] is True
        result = sdk.purchase(12_34)
        assert result["approved"] is True and result["response_code"] == "00", result
        assert result["masked_pan"].startswith("622800") and "*" in result["masked_pan"]
        names = [name for name, _ in sdk.events]
        assert names[:2] == ["DISPLAY", "CARD_EVENT"] and names.count("PIN_PROGRESS") == len(PIN)
        assert dict(sdk.events)["CARD_EVENT"] == {"event": "inserted"}  # a value of CARD_EVENTS
        assert [v for n, v in sdk.events if n == "PIN_PROGRESS"] == list(range(1, len(PIN) + 1))
    finally:
        stop()
        thread.join(10)
        sdk.close()
        term.close()
    issuer = host.host.services.issuer
    assert isinstance(issuer, Issuer)
    pan = ChipSession(card).facts().pan
    assert issuer.balances(pan).available == 100_000 - 12_34
    wire = b"".join(seen)
    track = ChipSession(card).facts().track2
    for canary in (PIN.encode(), track.encode(), bytes.fromhex(track + "0" * (len(track) % 2))):
        assert canary not in wire  # no clear PIN or track ever reaches the phone


def test_pulling_the_usb_cable_mid_transaction_switches_to_audio(
    host: BackgroundAcquirer, tmp_path: Path
) -> None:
    term, card = _setup(host, tmp_path)
    usb_phone, usb_term = socket.socketpair()
    audio_phone, audio_term = socket.socketpair()
    terminal_end = Endpoint([UsbTransport(usb_term, host=False), AudioTransport(audio_term)])
    server = PhoneServer(term, terminal_end, card=card, pin=PIN)
    thread, stop = _run_terminal(server)
    phone_end = Endpoint([UsbTransport(usb_phone, host=True), AudioTransport(audio_phone)])
    pulled: list[str] = []

    def on_event(name: str, value: object) -> None:
        if name == "CARD_EVENT" and not pulled:  # the card is in: pull the cable now
            usb_phone.shutdown(socket.SHUT_RDWR)
            pulled.append(name)

    sdk = PhoneSdk(phone_end, ("127.0.0.1", host.port), on_event=on_event)
    try:
        assert sdk.sign_on()["approved"] is True
        result = sdk.purchase(5_00)
        assert result["approved"] is True, result
    finally:
        stop()
        thread.join(10)
        sdk.close()
        term.close()
    assert pulled and phone_end.switched == ["usb->audio"]
    assert terminal_end.switched == ["usb->audio"]


def test_a_malformed_request_is_answered_with_an_error_and_the_terminal_goes_on(
    host: BackgroundAcquirer, tmp_path: Path
) -> None:
    term, card = _setup(host, tmp_path)
    phone_sock, term_sock = socket.socketpair()
    server = PhoneServer(term, Endpoint([UsbTransport(term_sock, host=False)]), card=card, pin=PIN)
    thread, stop = _run_terminal(server)
    sdk = PhoneSdk(Endpoint([UsbTransport(phone_sock, host=True)]), ("127.0.0.1", host.port))
    try:
        for bad in (b"{not json", b"[1, 2]", b'{"amount": "-5"}'):
            with pytest.raises(SdkError, match="error 30: bad request"):
                sdk._call(0x10, bad)
        assert sdk.connect()["terminal_id"] == "10000099"  # still serving
    finally:
        stop()
        thread.join(10)
        sdk.close()
        term.close()
