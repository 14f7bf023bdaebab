"""The secure channel: the terminal speaks TLS 1.3 to the acquirer through the phone, with
mutual certificates of the platform's CA; the phone relays records in which it cannot find the
PAN, the PIN block or field 55, and a terminal without a certificate is refused."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.device.endpoint import Endpoint
from zhifu.device.transport import UsbTransport
from zhifu.issuer import Issuer
from zhifu.sdk import PhoneSdk
from zhifu.security.pki import client_context, init_local_pki
from zhifu.terminal import Terminal
from zhifu.terminal.chip import ChipSession
from zhifu.terminal.phone import PhoneServer

from .test_phone_purchase import PIN, Recording

LMK = "5A" * 32
MID = "898100012345678"


@pytest.fixture(params=["ec", "rsa"])
def pki(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The platform's CA with ECDSA P-256 or RSA-2048 certificates."""
    init_local_pki(tmp_path / "pki", clients=["term"], key_type=request.param)
    return tmp_path / "pki"


@pytest.fixture
def host(
    tmp_path: Path, pki: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BackgroundAcquirer]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    config = AcquirerConfig.local(tmp_path / "var", port=0)
    config = type(config)(**{**config.__dict__, "tls_folder": str(pki), "tls_client_auth": True})
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield background
    background.stop()


def _purchase(host: BackgroundAcquirer, tmp_path: Path, client: str | None, tid: str):  # type: ignore[no-untyped-def]
    services = host.host.services
    reg = register_terminal(services.registry, services.hsm, MID, tid)
    parts = [c.material.reveal().hex() for c in reg.components]
    term = Terminal.init(tmp_path / f"term-{tid}", MID, tid, parts)
    issuer = services.issuer
    assert isinstance(issuer, Issuer)
    card = tmp_path / f"card-{tid}.json"
    issuer.issue_card("debit", 100_000, PIN, card)
    phone_sock, term_sock = socket.socketpair()
    tls = client_context(tmp_path / "pki", client)
    server = PhoneServer(term, Endpoint([UsbTransport(term_sock, host=False)]), card=card,
                         pin=PIN, tls=tls)  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop.is_set,), daemon=True)
    thread.start()
    seen: list[bytes] = []
    phone = Endpoint([Recording(UsbTransport(phone_sock, host=True), seen)])
    sdk = PhoneSdk(phone, ("127.0.0.1", host.port), timeout=10)
    try:
        info = sdk.connect()
        signed = sdk.sign_on()
        result = sdk.purchase(20_00) if signed.get("approved") else {}
    finally:
        stop.set()
        thread.join(10)
        sdk.close()
        term.close()
    return info, signed, result, b"".join(seen), card


def test_a_purchase_through_the_tunnel_hides_everything_from_the_phone(
    host: BackgroundAcquirer, tmp_path: Path
) -> None:
    info, signed, result, wire, card = _purchase(host, tmp_path, "term", "10000031")
    assert info["relay"] == "tls" and signed["approved"] is True
    assert result["approved"] is True and result["response_code"] == "00", result
    facts = ChipSession(card).facts()
    for canary in (facts.pan.encode(), bytes.fromhex(facts.pan), PIN.encode(),
                   facts.track2.encode(), b"\x9f\x26\x08"):  # fmt: skip
        assert canary not in wire
    assert b"\x16\x03\x01" in wire or b"\x17\x03\x03" in wire  # TLS records went by


def test_a_terminal_without_a_certificate_is_refused(
    host: BackgroundAcquirer, tmp_path: Path
) -> None:
    _, signed, result, _, _ = _purchase(host, tmp_path, None, "10000032")
    assert signed["answered"] is False and "tunnel" in signed["message"] and result == {}
