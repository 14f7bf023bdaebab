"""Card readers: InProcessReader, exchange (T=0), and PcscReader's glue over a fake pyscard.

No test here touches libpcsclite (it caches the pcscd socket name per process; the PC/SC
integration test in tests/integration/card needs it fresh).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

from zhifu.card.apdu import CommandApdu
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.readers.base import CardReader, InProcessReader, ReaderError, exchange
from zhifu.card.readers.pcsc import PcscReader, list_readers
from zhifu.core.errors import UsageError

SELECT_PSE = bytes.fromhex("00A404000E315041592E5359532E444446303100")
SELECT_DEBIT = bytes.fromhex("00A4040008A00000033301010100")
GET_DATA_9F79 = bytes.fromhex("80CA9F7900")
VERIFY = bytes.fromhex("0020008008241234FFFFFFFFFF")  # plaintext PIN block for 1234


@pytest.fixture
def card() -> EmulatedCard:
    return EmulatedCard.example()


# ------------------------------------------------------------------------------ in-process


def test_connect_answers_the_atr_and_transmit_reaches_the_card(card: EmulatedCard) -> None:
    reader = InProcessReader(card, name="slot 1")
    assert isinstance(reader, CardReader)
    assert reader.name == "slot 1"
    assert reader.connect() == card.image.atr == reader.atr
    response = reader.transmit(SELECT_PSE)
    assert response[-2:] == b"\x90\x00" and response[0] == 0x6F
    reader.disconnect()
    assert not card.powered and reader.atr == b""
    reader.disconnect()  # a second call does nothing


def test_context_manager_powers_up_and_down(card: EmulatedCard) -> None:
    with InProcessReader(card) as reader:
        assert card.powered and reader.connected
    assert not card.powered and not reader.connected


def test_connect_is_a_cold_reset(card: EmulatedCard) -> None:
    with InProcessReader(card) as reader:
        assert reader.transmit(SELECT_DEBIT)[-2:] == b"\x90\x00"
        assert reader.transmit(GET_DATA_9F79)[-2:] == b"\x90\x00"
        reader.connect()
        assert reader.transmit(GET_DATA_9F79) == b"\x69\x85"  # selection lost


def test_transmit_without_connect_is_refused_without_echoing_the_apdu(
    card: EmulatedCard,
) -> None:
    reader = InProcessReader(card)
    with pytest.raises(ReaderError, match="not connected") as info:
        reader.transmit(VERIFY)
    assert "241234" not in str(info.value)
    assert "241234" not in repr(reader)


def test_exchange_resends_on_6cxx(card: EmulatedCard) -> None:
    with InProcessReader(card) as reader:
        reader.transmit(SELECT_DEBIT)
        short_le = CommandApdu(0x80, 0xCA, 0x9F, 0x79, le=1)
        assert reader.transmit(short_le.encode()) == b"\x6c\x09"
        response = exchange(reader, short_le)
    assert response.ok and response.data[:3] == b"\x9f\x79\x06"


class _Broken:
    name = "broken"

    def __init__(self, answer: bytes) -> None:
        self.answer = answer

    def transmit(self, apdu: bytes) -> bytes:
        return self.answer


@pytest.mark.parametrize("answer", [b"", b"\x90", b"\x61\x10"])
def test_exchange_turns_bad_answers_into_reader_errors(answer: bytes) -> None:
    with pytest.raises(ReaderError, match="broken: bad response"):
        exchange(_Broken(answer), CommandApdu(0x00, 0x84, 0x00, 0x00, le=8))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ PC/SC glue


def test_pcsc_without_pyscard_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "smartcard", None)
    monkeypatch.setitem(sys.modules, "smartcard.scard", None)
    for call in (list_readers, PcscReader().connect, lambda: PcscReader().wait_for_card(0)):
        with pytest.raises(ReaderError, match=r"pip install pyscard.*libpcsclite-dev"):
            call()


def test_pcsc_reader_checks_its_arguments() -> None:
    assert isinstance(PcscReader(0), CardReader)
    with pytest.raises(UsageError) as info:
        PcscReader(1.5)  # type: ignore[arg-type]
    assert info.value.argument == "reader"
    with pytest.raises(UsageError) as info:
        PcscReader(0, protocol="T2")  # type: ignore[arg-type]
    assert info.value.argument == "protocol"
    with pytest.raises(ReaderError, match="not connected"):
        PcscReader(0).transmit(SELECT_PSE)


class FakeScard(SimpleNamespace):
    """Just enough of pyscard's ``smartcard.scard`` for PcscReader, with one card."""

    SCARD_S_SUCCESS = 0
    SCARD_E_NO_SERVICE = 0x8010001D
    SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
    SCARD_E_NO_SMARTCARD = 0x8010000C
    SCARD_SCOPE_USER = 0
    SCARD_SHARE_SHARED = 2
    SCARD_SHARE_EXCLUSIVE = 1
    SCARD_PROTOCOL_T0 = 1
    SCARD_PROTOCOL_T1 = 2
    SCARD_UNPOWER_CARD = 2
    SCARD_STATE_UNAWARE = 0
    SCARD_STATE_PRESENT = 0x20
    SCARD_STATE_EMPTY = 0x10

    def __init__(self, card: EmulatedCard | None, readers: list[str], service: bool = True):
        super().__init__()
        self.card, self.names, self.service = card, readers, service
        self.contexts: set[int] = set()
        self.calls: list[str] = []

    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:
        if not self.service:
            return self.SCARD_E_NO_SERVICE, 0
        handle = len(self.contexts) + 100
        self.contexts.add(handle)
        return 0, handle

    def SCardReleaseContext(self, handle: int) -> int:
        self.contexts.discard(handle)
        return 0

    def SCardListReaders(self, handle: int, groups: list[str]) -> tuple[int, list[str]]:
        return (0, list(self.names)) if self.names else (self.SCARD_E_NO_READERS_AVAILABLE, [])

    def SCardGetStatusChange(self, handle: int, timeout: int, states: list[Any]) -> Any:
        state = self.SCARD_STATE_PRESENT if self.card else self.SCARD_STATE_EMPTY
        return 0, [(states[0][0], state, [])]

    def SCardConnect(self, handle: int, name: str, share: int, protocols: int) -> Any:
        self.calls.append(f"connect {name} share={share} protocols={protocols}")
        if self.card is None:
            return self.SCARD_E_NO_SMARTCARD, 0, 0
        self.card.power_on()
        return 0, 7, self.SCARD_PROTOCOL_T1

    def SCardStatus(self, card: int) -> Any:
        assert self.card is not None
        return 0, "reader", 0x34, self.SCARD_PROTOCOL_T1, list(self.card.image.atr)

    def SCardTransmit(self, card: int, protocol: int, apdu: list[int]) -> Any:
        assert self.card is not None and protocol == self.SCARD_PROTOCOL_T1
        return 0, list(self.card.transmit(bytes(apdu)))

    def SCardDisconnect(self, card: int, disposition: int) -> int:
        self.calls.append(f"disconnect {disposition}")
        return 0

    def SCardGetErrorMessage(self, result: int) -> str:
        return {self.SCARD_E_NO_SMARTCARD: "No smart card inserted. "}.get(result, "Failure.")


def _fake(monkeypatch: pytest.MonkeyPatch, fake: FakeScard) -> FakeScard:
    monkeypatch.setitem(sys.modules, "smartcard.scard", fake)
    return fake


READERS = ["Virtual PCD 00 00", "Virtual PCD 00 01"]


def test_pcsc_reader_over_a_fake_pyscard(
    monkeypatch: pytest.MonkeyPatch, card: EmulatedCard
) -> None:
    fake = _fake(monkeypatch, FakeScard(card, READERS))
    assert list_readers() == READERS
    reader = PcscReader("00 01", exclusive=True)
    assert reader.wait_for_card(0.1)
    assert reader.name == "Virtual PCD 00 01"
    with reader:
        assert reader.atr == card.image.atr
        assert reader.transmit(SELECT_PSE)[-2:] == b"\x90\x00"
    assert fake.calls == ["connect Virtual PCD 00 01 share=1 protocols=3", "disconnect 2"]
    assert fake.contexts == set()  # every context released
    assert not reader.connected


@pytest.mark.parametrize(
    ("choice", "expected"),
    [(0, READERS[0]), (1, READERS[1]), ("Virtual PCD 00 00", READERS[0]), ("01", READERS[1])],
)
def test_pcsc_reader_chooses_by_index_or_name(
    monkeypatch: pytest.MonkeyPatch, card: EmulatedCard, choice: str | int, expected: str
) -> None:
    _fake(monkeypatch, FakeScard(card, READERS))
    with PcscReader(choice, protocol="T1") as reader:
        assert reader.name == expected


@pytest.mark.parametrize(
    ("choice", "message"),
    [(2, "no PC/SC reader number 2"), ("Virtual", "no single PC/SC reader"), ("x", "'x'")],
)
def test_pcsc_reader_refuses_unknown_readers(
    monkeypatch: pytest.MonkeyPatch, card: EmulatedCard, choice: str | int, message: str
) -> None:
    fake = _fake(monkeypatch, FakeScard(card, READERS))
    with pytest.raises(ReaderError, match=message):
        PcscReader(choice).connect()
    assert fake.contexts == set()


def test_pcsc_errors_are_reader_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake(monkeypatch, FakeScard(None, READERS))
    assert PcscReader(0).wait_for_card(0.1) is False
    with pytest.raises(ReaderError, match=r"No smart card inserted\. \(0x8010000C\)"):
        PcscReader(0).connect()
    assert fake.contexts == set()
    _fake(monkeypatch, FakeScard(None, [], service=False))
    with pytest.raises(ReaderError, match="start pcscd"):
        list_readers()
    assert PcscReader(0).wait_for_card(0.1) is False
    _fake(monkeypatch, FakeScard(None, []))
    assert list_readers() == []
