"""Endpoints on a socket pair: a message longer than a frame goes in pieces and arrives whole;
a transport that closes hands over to the next one."""

from __future__ import annotations

import socket
import threading

import pytest

from zhifu.device.endpoint import Endpoint
from zhifu.device.transport import AudioTransport, LinkDownError, UsbTransport


def test_a_long_message_arrives_whole() -> None:
    a, b = socket.socketpair()
    sender, receiver = (
        Endpoint([UsbTransport(a, host=True)]),
        Endpoint([UsbTransport(b, host=False)]),
    )
    payload = bytes(range(256)) * 20  # 5,120 bytes: five frames
    thread = threading.Thread(target=sender.send, args=(0x14, payload))
    thread.start()
    got = receiver.receive(5.0)
    thread.join(5)
    assert got is not None and got.payload == payload and got.cmd == 0x14
    assert sender.state.next_tx == 5


def test_the_next_transport_takes_over_and_the_last_one_fails_loudly() -> None:
    usb_a, usb_b = socket.socketpair()
    audio_a, audio_b = socket.socketpair()
    a = Endpoint([UsbTransport(usb_a, host=True), AudioTransport(audio_a)])
    b = Endpoint([UsbTransport(usb_b, host=False), AudioTransport(audio_b)])
    usb_a.shutdown(socket.SHUT_RDWR)
    thread = threading.Thread(target=a.send, args=(0x04, b""))
    thread.start()
    got = b.receive(5.0)
    thread.join(5)
    assert got is not None and got.cmd == 0x04
    assert a.switched == ["usb->audio"] and b.switched == ["usb->audio"]
    audio_a.close()
    with pytest.raises(LinkDownError):
        b.send(0x04, b"")


def test_a_broken_ccid_message_is_dropped_with_a_typed_error_and_the_link_goes_on() -> None:
    a, b = socket.socketpair()
    receiver = UsbTransport(b, host=False)
    a.sendall(b"\x62" + bytes(9))  # not a CCID bulk message
    assert receiver.read(1.0) == b"" and receiver.errors[0].field == "bMessageType"
    sender = Endpoint([UsbTransport(a, host=True)])
    thread = threading.Thread(target=sender.send, args=(0x04, b""))
    thread.start()
    got = Endpoint([receiver]).receive(5.0)
    thread.join(5)
    assert got is not None and got.cmd == 0x04


class _CutBeforeTheAck(UsbTransport):
    """The cable is pulled as the terminal answers its first frame: the ACK is lost."""

    def write(self, data: bytes) -> None:
        self.close()
        raise LinkDownError("cable pulled")


def test_a_replugged_cable_resumes_the_frame_in_flight_and_it_is_delivered_once() -> None:
    first_a, first_b = socket.socketpair()
    second_a, second_b = socket.socketpair()
    host = Endpoint([UsbTransport(first_a, host=True)],
                    reconnect=lambda: UsbTransport(second_a, host=True))  # fmt: skip
    terminal = Endpoint([_CutBeforeTheAck(first_b, host=False)],
                        reconnect=lambda: UsbTransport(second_b, host=False))  # fmt: skip
    thread = threading.Thread(target=host.send, args=(0x10, b"half"))
    thread.start()
    got = [terminal.receive(5.0), terminal.receive(0.5)]
    thread.join(5)
    assert not thread.is_alive() and not host.state.busy
    assert [f.payload for f in got if f is not None] == [b"half"]  # once, though sent twice
    assert host.switched == ["usb->usb"] and terminal.switched == ["usb->usb"]
    assert host.state.resent >= 1


def test_without_a_new_pipe_the_last_failure_is_loud() -> None:
    a, b = socket.socketpair()
    lonely = Endpoint([UsbTransport(a, host=True)], reconnect=lambda: None)
    b.close()
    with pytest.raises(LinkDownError, match="no other transport"):
        lonely.send(0x04)
