"""``zhifu load`` against a running host: terminals registered and cards issued through the
data directory, a paced mix over TCP, per-kind figures and a chart; bad knobs refused."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from PIL import Image

from zhifu.cli.main import main
from zhifu.terminal.load import parse_mix, percentile
from zhifu.web.fastpath import create_asgi
from zhifu.web.server import make_config

from .conftest import Bank


def test_a_short_load_reports_every_kind(
    bank: Bank, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_HOME", str(bank.folder / "var"))
    chart = bank.folder / "chart.png"
    folder = str(bank.folder / "load")
    status = main(["load", "--host", bank.address, "--terminals", "3", "--tps", "30",
                   "--duration", "1.5", "--mix", "purchase=50,balance=20,tap=20,swipe=10",
                   "--folder", folder, "--png", str(chart), "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert status == 0 and out["terminals"] == 3
    kinds = {row["kind"]: row for row in out["kinds"]}
    assert sum(row["count"] for row in kinds.values()) >= 10
    for row in kinds.values():
        assert row["errors"] == 0 and row["approved"] == row["count"]
        if row["count"]:
            assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    with Image.open(chart) as image:
        assert image.size == (640, 360)


def test_qr_payments_over_http_beside_the_card_load(
    bank: Bank, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_HOME", str(bank.folder / "var"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(make_config(port=port, app=create_asgi(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        status = main(["load", "--host", bank.address, "--url", f"http://127.0.0.1:{port}",
                       "--terminals", "2", "--tps", "20", "--duration", "1.5",
                       "--mix", "purchase=50,qr=50", "--folder", str(bank.folder / "load"),
                       "--json"])  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(30)
    out = json.loads(capsys.readouterr().out)
    kinds = {row["kind"]: row for row in out["kinds"]}
    assert status == 0 and kinds["qr"]["count"] >= 3, kinds
    assert kinds["qr"]["approved"] == kinds["qr"]["count"] and kinds["qr"]["errors"] == 0


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--terminals", "0"], "--terminals"),
        (["--duration", "601"], "--duration"),
        (["--tps", "0"], "--tps"),
        (["--mix", "purchase=x"], "--mix"),
        (["--mix", "cash=5"], "--mix"),
    ],
)
def test_bad_knobs_are_refused(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["load", "--folder", str(tmp_path), *argv]) == 2
    assert option in capsys.readouterr().err


def test_the_helpers() -> None:
    assert parse_mix("tap=1") == {"tap": 1}
    assert percentile([], 0.99) == 0.0 and percentile([1.0, 2.0, 3.0, 4.0], 0.99) == 4.0
