"""``zhifu.web.server.serve`` in a real process, reached over a real socket on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import zhifu
from zhifu.core.errors import UsageError
from zhifu.web.server import make_config

SRC = Path(__file__).resolve().parents[3] / "src"
STARTUP_LIMIT_S = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status, response.read()


def test_serve_answers_healthz_over_a_socket() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = f"from zhifu.web.server import serve; serve(port={port})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        answer: tuple[int, bytes] | None = None
        while answer is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
            try:
                answer = _get(f"http://127.0.0.1:{port}/healthz")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert answer is not None, f"no answer on port {port} within {STARTUP_LIMIT_S} s"
        status, body = answer
        assert status == 200
        assert json.loads(body) == {"status": "ok", "version": zhifu.__version__}
        status, body = _get(f"http://127.0.0.1:{port}/schema/openapi.json")
        assert status == 200 and json.loads(body)["info"]["title"] == "zhifu"
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=15)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode(errors="replace")
    # uvicorn shuts down gracefully, then re-raises the captured SIGTERM
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Finished server process" in output


@pytest.mark.parametrize("port", [-1, 65536])
def test_make_config_refuses_bad_port(port: int) -> None:
    with pytest.raises(UsageError) as info:
        make_config(port=port)
    assert info.value.argument == "port"


def test_make_config_refuses_unknown_log_level() -> None:
    with pytest.raises(UsageError) as info:
        make_config(log_level="loud")
    assert info.value.argument == "log_level"


def test_make_config_defaults_to_loopback_without_server_header() -> None:
    config = make_config()
    assert (config.host, config.port, config.server_header) == ("127.0.0.1", 8000, False)
