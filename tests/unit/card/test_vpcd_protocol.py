"""VpcdCardServer against a fake vpcd: this test listens on 127.0.0.1 and speaks as the driver.

Wire protocol: docs/standards/card-terminal.md §5 "PC/SC finding" (from the vsmartcard source):
2-byte big-endian length ‖ payload; 1-byte controls 00 off, 01 on, 02 reset (no answer), 04 ATR.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.readers.base import ReaderError
from zhifu.card.readers.vpcd import (
    MAX_FRAME,
    VpcdCardServer,
    answer,
    describe,
    encode_frame,
)
from zhifu.core.errors import DecodeError, UsageError

WAIT = 5.0
SELECT_PSE = bytes.fromhex("00A404000E315041592E5359532E444446303100")
SELECT_DEBIT = bytes.fromhex("00A4040008A00000033301010100")
GET_DATA_9F79 = bytes.fromhex("80CA9F7900")
PIN_BLOCK = "241234FFFFFFFFFF"
VERIFY = bytes.fromhex("00200080 08" + PIN_BLOCK)
POWER_OFF, POWER_ON, RESET, GET_ATR = b"\x00", b"\x01", b"\x02", b"\x04"


@dataclass
class Vpcd:
    """The fake driver's side of one connection."""

    conn: socket.socket
    server: VpcdCardServer
    card: EmulatedCard

    def send(self, payload: bytes) -> None:
        self.conn.sendall(len(payload).to_bytes(2, "big") + payload)

    def recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            assert chunk, "connection closed"
            data += chunk
        return data

    def ask(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.recv_exact(int.from_bytes(self.recv_exact(2), "big"))

    def silent(self, seconds: float = 0.2) -> bool:
        """Whether nothing arrives for ``seconds``."""
        self.conn.settimeout(seconds)
        try:
            return self.conn.recv(1) == b"x"  # pragma: no cover - any byte is a failure
        except TimeoutError:
            return True
        finally:
            self.conn.settimeout(WAIT)

    def closed(self) -> bool:
        """Whether the card closed the connection (within WAIT seconds)."""
        return self.conn.recv(1) == b""


def _listener() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(WAIT)
    return listener


def _serve(card: EmulatedCard, **options: object) -> Iterator[Vpcd]:
    with _listener() as listener:
        port = listener.getsockname()[1]
        server = VpcdCardServer(card, "127.0.0.1", port, frame_timeout=0.5, **options)  # type: ignore[arg-type]
        server.start()
        try:
            conn, _ = listener.accept()
            conn.settimeout(WAIT)
            with conn:
                assert server.wait_connected(WAIT)
                yield Vpcd(conn, server, card)
        finally:
            server.stop()


@pytest.fixture
def vpcd() -> Iterator[Vpcd]:
    yield from _serve(EmulatedCard.example())


def test_power_on_then_atr_then_apdus(vpcd: Vpcd) -> None:
    vpcd.send(POWER_ON)
    assert vpcd.silent()  # no answer to the controls 00, 01, 02
    assert vpcd.card.powered
    assert vpcd.ask(GET_ATR) == vpcd.card.image.atr
    fci = vpcd.ask(SELECT_PSE)
    assert fci[0] == 0x6F and fci[-2:] == b"\x90\x00"
    assert vpcd.ask(bytes.fromhex("00FF0000")) == b"\x6d\x00"
    assert vpcd.ask(b"\x00\xa4") == b"\x67\x00"  # too short for an APDU: the card says so
    assert vpcd.server.apdus == 3
    vpcd.send(POWER_OFF)
    assert vpcd.silent()
    assert not vpcd.card.powered


def test_atr_polling_keeps_the_session_and_reset_drops_it(vpcd: Vpcd) -> None:
    vpcd.send(POWER_ON)
    assert vpcd.ask(SELECT_DEBIT)[-2:] == b"\x90\x00"
    for _ in range(3):  # vpcd polls the ATR to see whether the card is still there
        assert vpcd.ask(GET_ATR) == vpcd.card.image.atr
    assert vpcd.ask(GET_DATA_9F79)[-2:] == b"\x90\x00"
    vpcd.send(RESET)
    assert vpcd.ask(GET_DATA_9F79) == b"\x69\x85"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00\x00", "empty message"),
        (b"\x00\x01\x03", "unknown control byte 03"),
        (b"\x00\x01\xff", "unknown control byte FF"),
        (b"\x00\x0a\x00\xa4\x04", "frame incomplete after 3 of 10 bytes"),  # then silence
        (b"\x00", "frame incomplete after 0 of 1 bytes"),  # half a length, then silence
    ],
)
def test_malformed_frames_close_the_connection(
    vpcd: Vpcd, caplog: pytest.LogCaptureFixture, raw: bytes, reason: str
) -> None:
    caplog.set_level(logging.INFO, logger="zhifu.card.readers.vpcd")
    vpcd.conn.sendall(raw)
    assert vpcd.closed()
    deadline = time.monotonic() + WAIT
    while vpcd.server.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not vpcd.server.connected
    assert any(reason in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert not vpcd.card.powered  # the card left the reader


def test_oversized_frames_are_dropped_and_answered_6700(vpcd: Vpcd) -> None:
    assert vpcd.ask(bytes(MAX_FRAME + 1)) == b"\x67\x00"
    assert vpcd.ask(b"\x80\xca" + bytes(0xFFFF - 2)) == b"\x67\x00"  # the biggest frame
    assert vpcd.ask(GET_ATR) == vpcd.card.image.atr  # still connected
    assert vpcd.ask(SELECT_PSE)[-2:] == b"\x90\x00"
    longest = bytes.fromhex("00A40400FF") + bytes(255) + b"\x00"  # exactly MAX_FRAME: served
    assert len(longest) == MAX_FRAME and len(vpcd.ask(longest)) == 2


def test_the_log_shows_ins_and_lengths_never_data(
    vpcd: Vpcd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="zhifu.card.readers.vpcd")
    vpcd.send(POWER_ON)
    vpcd.ask(SELECT_DEBIT)
    vpcd.ask(VERIFY)  # a plaintext PIN block: its status word does not matter here
    text = caplog.text
    assert "APDU INS 20, 13 bytes" in text and "SW " in text
    for secret in (PIN_BLOCK, PIN_BLOCK.lower(), "A000000333010101", "a000000333010101"):
        assert secret not in text


def test_stop_closes_an_idle_connection_quickly(vpcd: Vpcd) -> None:
    started = time.monotonic()
    vpcd.server.stop()
    assert time.monotonic() - started < 2.0
    assert vpcd.closed()
    assert not vpcd.server.connected
    names = [t.name for t in threading.enumerate()]
    assert f"vpcd-card-{vpcd.server.port}" not in names


def test_reconnects_after_the_driver_goes_away() -> None:
    card = EmulatedCard.example()
    with _listener() as listener:
        port = listener.getsockname()[1]
        with VpcdCardServer(card, "127.0.0.1", port, reconnect=True) as server:
            for _ in range(2):
                conn, _ = listener.accept()
                conn.settimeout(WAIT)
                with conn:
                    assert Vpcd(conn, server, card).ask(GET_ATR) == card.image.atr
                # closed by the driver: the card comes back on a new connection
    assert server.error is None and not server.connected


def test_no_vpcd_is_a_reader_error_after_the_connect_timeout() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = VpcdCardServer(EmulatedCard.example(), "127.0.0.1", port, connect_timeout=0.3)
    with server:
        assert server.wait_connected(WAIT) is False
    assert isinstance(server.error, ReaderError)
    assert f"127.0.0.1:{port}" in str(server.error) and "pcscd" in str(server.error)
    again = VpcdCardServer(EmulatedCard.example(), "127.0.0.1", port, connect_timeout=0.2)
    with pytest.raises(ReaderError, match="no vpcd"):
        again.serve_forever()


# ------------------------------------------------------------------------------ pieces


def test_answer_and_describe() -> None:
    card = EmulatedCard.example()
    assert answer(card, POWER_ON) is None and card.powered
    assert answer(card, GET_ATR) == card.image.atr
    assert answer(card, POWER_OFF) is None and not card.powered
    with pytest.raises(DecodeError, match="empty message"):
        answer(card, b"")
    with pytest.raises(DecodeError, match="unknown control byte 05"):
        answer(card, b"\x05")
    assert describe(GET_ATR) == "control 04 (get ATR)"
    assert describe(b"\x07") == "control 07 (unknown)"
    assert describe(VERIFY) == "APDU INS 20, 13 bytes"


@pytest.mark.parametrize("payload", [b"", bytes(0x10000)])
def test_encode_frame_bounds(payload: bytes) -> None:
    with pytest.raises(UsageError):
        encode_frame(payload)
    assert encode_frame(bytes(0xFFFF))[:2] == b"\xff\xff"


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"max_frame": 4}, "max_frame"),
        ({"frame_timeout": 0}, "frame_timeout"),
    ],
)
def test_server_checks_its_arguments(options: dict[str, int], argument: str) -> None:
    with pytest.raises(UsageError) as info:
        VpcdCardServer(EmulatedCard.example(), **options)  # type: ignore[arg-type]
    assert info.value.argument == argument
