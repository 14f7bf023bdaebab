"""``zhifu device``: the demo purchase over each transport, and link bytes to WAV and back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zhifu.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    status = main(list(argv))
    out = capsys.readouterr().out
    return status, (json.loads(out) if out.strip().startswith("{") else {})


@pytest.mark.parametrize("transport", ["usb", "audio"])
def test_the_demo_purchase(
    transport: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", "6D" * 32)
    status, data = _run(capsys, "device", "demo", "--transport", transport, "--amount", "8.88",
                        "--json")  # fmt: skip
    result = data["result"]
    assert status == 0 and isinstance(result, dict) and result["approved"] is True
    assert result["amount"] == "8.88" and data["transport"] == transport


def test_bytes_to_sound_and_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = "A55A0100040000008141"
    wav = str(tmp_path / "frame.wav")
    assert _run(capsys, "device", "wav", "encode", "--hex", frame, "--out", wav)[0] == 0
    status, data = _run(capsys, "device", "wav", "decode", wav, "--json")
    assert status == 0 and data["hex"] == frame
    assert data["frames"] == [{"seq": 0, "cmd": "04", "payload": ""}]
    assert main(["device", "wav", "encode", "--hex", "XYZ", "--out", wav]) == 2
    assert "--hex" in capsys.readouterr().err
