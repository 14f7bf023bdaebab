"""The HTTP API over TLS 1.3 (``zhifu serve --tls``): a client trusting the local CA gets
answers, OpenSSL's s_client sees TLS 1.3, TLS 1.2 and plain HTTP are refused; with client
authentication a client without a certificate is refused in the handshake."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from zhifu.security.pki import client_context, init_local_pki
from zhifu.web.app import create_app
from zhifu.web.server import make_config


def _serve(pki: Path, *, client_auth: bool) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = make_config("127.0.0.1", port, app=create_app(), log_level="error",
                         tls_folder=str(pki), tls_client_auth=client_auth)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    init_local_pki(tmp_path / "pki", clients=["bank"])
    return tmp_path / "pki"


@pytest.fixture
def https(pki: Path) -> Iterator[int]:
    yield from _serve(pki, client_auth=False)


def _get(port: int, context: ssl.SSLContext) -> dict[str, str]:
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context,
                                timeout=5) as answer:  # fmt: skip
        return dict(json.loads(answer.read()))


def test_https_with_tls13(https: int, pki: Path) -> None:
    assert _get(https, client_context(pki))["status"] == "ok"
    with pytest.raises(urllib.error.URLError):
        _get(https, ssl.create_default_context())  # the local CA is not trusted by default
    with pytest.raises((ConnectionError, OSError, urllib.error.URLError)):
        urllib.request.urlopen(f"http://127.0.0.1:{https}/healthz", timeout=5).read()
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is installed by make test")
    base = [openssl, "s_client", "-connect", f"127.0.0.1:{https}", "-brief",
            "-CAfile", str(pki / "ca.pem")]  # fmt: skip
    good = subprocess.run(base, input="", capture_output=True, text=True, timeout=20, check=False)
    assert "Protocol version: TLSv1.3" in good.stdout + good.stderr
    old = subprocess.run([*base, "-tls1_2"], input="", capture_output=True, text=True,
                         timeout=20, check=False)  # fmt: skip
    assert old.returncode != 0 and "CONNECTION ESTABLISHED" not in old.stdout + old.stderr


def test_mutual_tls_refuses_a_client_without_a_certificate(pki: Path) -> None:
    for port in _serve(pki, client_auth=True):
        assert _get(port, client_context(pki, "bank"))["status"] == "ok"
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _get(port, client_context(pki))
