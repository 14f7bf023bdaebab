"""Settings, the var/ data directory and its local LMK, running in the background."""

from __future__ import annotations

import logging
import os
import socket
import stat
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerHost, register_terminal
from zhifu.acquirer.background import start_in_background
from zhifu.acquirer.config import AcquirerConfig, ensure_local_lmk, open_key_store, zhifu_home
from zhifu.core.errors import UsageError
from zhifu.iso8583 import Header, Message, Tpdu, encode_frame
from zhifu.security.errors import LmkError

LMK = "5A" * 32
MID = "898100012345678"


def test_local_layout(tmp_path: Path) -> None:
    config = AcquirerConfig.local(tmp_path, port=0)
    assert config.db_path == str(tmp_path / "acquirer.db")
    assert config.key_store_path == str(tmp_path / "keys.db")
    assert config.home == tmp_path and config.port == 0
    assert AcquirerConfig().home is None
    assert zhifu_home({}) == zhifu_home({"ZHIFU_HOME": ""}) == Path("var")
    assert AcquirerConfig.local(environ={"ZHIFU_HOME": str(tmp_path)}).home == tmp_path


@pytest.mark.parametrize(
    ("settings", "argument"),
    [({"port": -1}, "port"), ({"max_frame_length": 10}, "max_frame_length"),
     ({"queue_size": 0}, "queue_size"), ({"idle_timeout_seconds": 0}, "idle_timeout_seconds"),
     ({"page_size": 21}, "page_size"), ({"institution_id": "ABC"}, "institution_id"),
     ({"first_frame_timeout_seconds": 0}, "first_frame_timeout_seconds"),
     ({"first_frame_timeout_seconds": float("nan")}, "first_frame_timeout_seconds"),
     ({"max_connections_per_address": 0}, "max_connections_per_address")],
)  # fmt: skip
def test_bad_settings_name_the_argument(settings: dict[str, object], argument: str) -> None:
    with pytest.raises(UsageError) as caught:
        AcquirerConfig(**settings)  # type: ignore[arg-type]
    assert caught.value.argument == argument


def test_local_lmk_is_created_once_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="zhifu.acquirer"):
        env = ensure_local_lmk(tmp_path, {})
    lmk = tmp_path / "lmk.key"
    assert env["ZHIFU_LMK_FILE"] == str(lmk)
    assert stat.S_IMODE(lmk.stat().st_mode) == 0o600
    assert len(lmk.read_text().strip()) == 64
    assert "Use a real LMK in production" in caplog.text
    first = lmk.read_text()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zhifu.acquirer"):
        ensure_local_lmk(tmp_path, {})
    assert lmk.read_text() == first and "production" not in caplog.text


def test_a_configured_lmk_wins(tmp_path: Path) -> None:
    env = ensure_local_lmk(tmp_path, {"ZHIFU_LMK": LMK})
    assert env == {"ZHIFU_LMK": LMK} and not (tmp_path / "lmk.key").exists()


def test_key_store_reopens_under_the_local_lmk(tmp_path: Path) -> None:
    config = AcquirerConfig.local(tmp_path)
    store = open_key_store(config, {})
    store.close()
    open_key_store(config, {}).close()
    with pytest.raises(LmkError, match="another LMK"):
        open_key_store(config, {"ZHIFU_LMK": LMK})
    assert stat.S_IMODE((tmp_path / "lmk.key").stat().st_mode) == 0o600


def test_background_acquirer_serves_and_stops(tmp_path: Path) -> None:
    config = AcquirerConfig.local(tmp_path, port=0)
    acquirer = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    try:
        assert acquirer.running and acquirer.port > 0
        echo = Message("0820", {"41": "10000001", "42": "898100012345678", "60": "00000001301"})
        with socket.create_connection(("127.0.0.1", acquirer.port), timeout=5) as conn:
            conn.sendall(encode_frame(echo, Tpdu(), Header()))
            data = conn.recv(4096)
        assert data[13:15] == b"\x08\x30"
    finally:
        acquirer.stop()
    assert not acquirer.running
    assert (tmp_path / "acquirer.db").exists() and (tmp_path / "keys.db").exists()


def test_background_start_failure_is_raised(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError):
            start_in_background(AcquirerConfig(port=port))


def test_the_data_directory_is_private(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        home = tmp_path / "srv" / "var"
        host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={})
        register_terminal(host.services.registry, host.services.hsm, MID, "10000001")
        names = sorted(p.name for p in home.iterdir() if p.is_file())
        assert names == ["acquirer.db", "acquirer.db-shm", "acquirer.db-wal", "acquirer.lock",
                         "keys.db", "keys.db-shm", "keys.db-wal", "ledger.db", "ledger.db-shm",
                         "ledger.db-wal", "lmk.key", "risk.db"]  # fmt: skip
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir() if p.is_file()}
        assert modes == dict.fromkeys(names, 0o600)
        issuer = home / "issuer"
        assert stat.S_IMODE(issuer.stat().st_mode) == 0o700
        assert {stat.S_IMODE(p.stat().st_mode) for p in issuer.iterdir()} == {0o600}
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert stat.S_IMODE(home.parent.stat().st_mode) == 0o700
        host.close()

        for path in home.iterdir():  # as an earlier version left them
            if path.is_file():
                os.chmod(path, 0o644)
        host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={})
        assert {stat.S_IMODE(p.stat().st_mode) for p in home.iterdir() if p.is_file()} == {0o600}
        host.close()
    finally:
        os.umask(old_umask)


def test_a_configured_lmk_in_a_new_data_directory(tmp_path: Path) -> None:
    home = tmp_path / "new"
    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    host.close()
    assert sorted(p.name for p in home.iterdir()) == [
        "acquirer.db",
        "acquirer.lock",
        "issuer",
        "keys.db",
        "ledger.db",
        "risk.db",
    ]
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
