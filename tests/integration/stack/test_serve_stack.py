"""`zhifu serve` (what `make run` starts): the web app and the acquirer host come up together."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.net import free_port, wait_http

from zhifu.acquirer.site import open_site_at
from zhifu.security.access import totp


def test_serve_starts_web_and_acquirer(tmp_path: Path) -> None:
    web, acq = free_port(), free_port()
    env = {**os.environ, "ZHIFU_HOME": str(tmp_path / "var")}
    env.pop("ZHIFU_LMK", None)
    env.pop("ZHIFU_LMK_FILE", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zhifu.cli",
            "serve",
            "--port",
            str(web),
            "--acquirer-port",
            str(acq),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_http(f"http://127.0.0.1:{web}/healthz", time.monotonic() + 45) == 200
        with socket.create_connection(("127.0.0.1", acq), timeout=5) as conn:
            conn.sendall(b"\x00\x03ABC")  # a frame too short to parse: the host must survive it
            conn.settimeout(5)
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                conn.recv(1024)
        assert wait_http(f"http://127.0.0.1:{web}/healthz", time.monotonic() + 10) == 200
        assert (tmp_path / "var" / "lmk.key").stat().st_mode & 0o077 == 0
        status = f"http://127.0.0.1:{web}/clearing/status"  # the BEPS centres
        assert wait_http(status, time.monotonic() + 10) == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert f"acquirer listening on 127.0.0.1:{acq}" in out
    assert "BEPS centres: round scheduler running" in out
    assert "Traceback" not in out
    assert f"sign in at http://127.0.0.1:{web}/console/sign-in" in out
    password = re.search(r"user admin, password (\S+)", out)
    secret = re.search(r"TOTP secret ([A-Z2-7]+)", out)
    assert password and secret, out
    site = open_site_at(tmp_path / "var", {})  # the data directory's own LMK file
    try:  # the printed credentials sign in (the code from the printed secret)
        code = totp(base64.b32decode(secret[1]), time.time())
        assert site.access.sign_in("admin", password[1], code).role == "admin"
    finally:
        site.close()


def test_serve_takes_its_settings_from_zhifu_toml(tmp_path: Path) -> None:
    web, acq = free_port(), free_port()
    config = tmp_path / "zhifu.toml"
    config.write_text(
        f"[web]\nport = {web}\n[acquirer]\nport = {acq}\n[clearing]\nenabled = false\n"
        f'[data]\nhome = "{tmp_path / "data"}"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ZHIFU_HOME", "ZHIFU_PORT")}
    env.pop("ZHIFU_LMK", None)
    env.pop("ZHIFU_LMK_FILE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhifu.cli", "serve", "--config", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert wait_http(f"http://127.0.0.1:{web}/healthz", time.monotonic() + 45) == 200
        with socket.create_connection(("127.0.0.1", acq), timeout=5):
            pass
        assert (tmp_path / "data" / "lmk.key").exists()  # data.home from the file
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert f"acquirer listening on 127.0.0.1:{acq}" in out
    assert "BEPS centres" not in out  # clearing.enabled = false
