"""The terminal's card slot served to pcscd through the phone link: opensc-tool (a PC/SC client
nobody here wrote) reads the ATR and sends APDUs; each goes phone SDK → CCID link → terminal →
the card, and the answers are the card's own."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.issuing import issue_card
from zhifu.card.readers.pcsc import PcscReader
from zhifu.card.readers.vpcd import VpcdCardServer
from zhifu.device.endpoint import Endpoint
from zhifu.device.transport import UsbTransport
from zhifu.sdk import LinkedCard, PhoneSdk
from zhifu.terminal import Terminal
from zhifu.terminal.phone import PhoneServer

from .test_pcsc_vpcd import READ_RECORD_1_SFI_1, SELECT_PSE, WAIT, _opensc_answers, _run_tool

if TYPE_CHECKING:
    from .conftest import PrivatePcscd

TMK = ["0123456789ABCDEFFEDCBA9876543210", "1F2E3D4C5B6A79880011223344556677"]


def test_opensc_tool_reads_the_terminals_card_through_the_phone(
    private_pcscd: PrivatePcscd, opensc_tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", "5A" * 32)
    card_path = tmp_path / "reference.json"
    issue_card("pboc-reference", None, card_path)
    expected = EmulatedCard.load(card_path).image
    term = Terminal.init(tmp_path / "term", "898100012345678", "10000044", TMK)
    phone_sock, term_sock = socket.socketpair()
    server = PhoneServer(term, Endpoint([UsbTransport(term_sock, host=False)]), card=card_path)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop.is_set,), daemon=True)
    thread.start()
    sdk = PhoneSdk(Endpoint([UsbTransport(phone_sock, host=True)]), ("127.0.0.1", 9))
    try:
        with VpcdCardServer(LinkedCard(sdk), port=private_pcscd.port, connect_timeout=WAIT) as vpcd:
            assert vpcd.wait_connected(WAIT), f"no vpcd: {vpcd.error}"
            assert PcscReader(private_pcscd.reader_name(0)).wait_for_card(WAIT)
            atr = _run_tool([opensc_tool, "--reader", "0", "--atr"])
            done = _run_tool([opensc_tool, "--reader", "0", "--send-apdu", SELECT_PSE,
                              "--send-apdu", READ_RECORD_1_SFI_1])  # fmt: skip
    finally:
        stop.set()
        thread.join(10)
        sdk.close()
        term.close()
    assert atr.returncode == 0, atr.stderr
    assert atr.stdout.strip().replace(":", "").upper() == expected.atr.hex().upper()
    assert done.returncode == 0, done.stderr
    assert _opensc_answers(done.stdout) == [
        ("9000", expected.pse_fci),
        ("9000", expected.pse_records[1]),
    ]
