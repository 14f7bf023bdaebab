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
