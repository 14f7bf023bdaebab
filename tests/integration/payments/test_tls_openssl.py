"""The acquirer's TLS port checked by a tool nobody here wrote: OpenSSL's ``s_client``.

It must negotiate TLS 1.3 with a certificate that verifies against the local CA, refuse TLS 1.2,
refuse a client that does not trust the CA when told to verify, and a plain TCP client that
sends a sign-on on the TLS port gets no ISO 8583 answer (the connection is closed).
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.security.pki import init_local_pki

from .conftest import LMK

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl is installed by make test")


@pytest.fixture
def tls_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Path]]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    pki = tmp_path / "pki"
    init_local_pki(pki)
    config = dataclasses.replace(
        AcquirerConfig.local(tmp_path / "var", port=0), tls_folder=str(pki)
    )
    background: BackgroundAcquirer = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield background.port, pki
    background.stop()


def _s_client(port: int, *options: str) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-brief", *options]
    return subprocess.run(command, input="", capture_output=True, text=True, timeout=20,
                          check=False)  # fmt: skip


def test_s_client_negotiates_tls13_with_the_local_ca(tls_host: tuple[int, Path]) -> None:
    port, pki = tls_host
    done = _s_client(port, "-CAfile", str(pki / "ca.pem"), "-verify_return_error",
                     "-verify_ip", "127.0.0.1")  # fmt: skip
    text = done.stdout + done.stderr
    assert "Protocol version: TLSv1.3" in text, text
    assert "Verification: OK" in text, text


def test_s_client_cannot_downgrade_to_tls12(tls_host: tuple[int, Path]) -> None:
    port, pki = tls_host
    done = _s_client(port, "-CAfile", str(pki / "ca.pem"), "-tls1_2")
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert "Protocol version: TLSv1.2" not in text
    assert "CONNECTION ESTABLISHED" not in text
    assert "error" in text.lower(), text  # the server closes the handshake (an alert or EOF)


def test_s_client_without_the_ca_refuses_the_server(tls_host: tuple[int, Path]) -> None:
    port, _ = tls_host
    done = _s_client(port, "-verify_return_error")
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    refused = ("self-signed certificate in certificate chain", "unable to get local issuer")
    assert any(reason in text for reason in refused), text


def test_plain_tcp_on_the_tls_port_gets_no_iso8583_answer(tls_host: tuple[int, Path]) -> None:
    port, _ = tls_host
    sign_on = bytes.fromhex("002e6000000000") + b"0800" + bytes(8)  # a framed header-sized probe
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        plain.sendall(sign_on)
        plain.settimeout(5)
        try:
            answer = plain.recv(4096)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert b"0810" not in answer
    assert answer == b"" or answer[:1] == b"\x15", answer.hex()  # nothing, or a TLS alert record
