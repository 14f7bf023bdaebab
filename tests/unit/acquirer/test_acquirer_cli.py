"""``zhifu acquirer``: register-terminal (dual control print), terminals, journal."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.host import AcquirerHost
from zhifu.acquirer.registry import RegistryError
from zhifu.cli import acquirer_cmd
from zhifu.cli.common import emit
from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, xor
from zhifu.crypto.kcv import kcv
from zhifu.iso8583 import Header, Message, Tpdu, encode_frame


def cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="zhifu")
    acquirer_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["acquirer", *argv])
    return emit(args.handler(args), getattr(args, "json", False)), ""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ZHIFU_HOME", str(tmp_path))
    monkeypatch.delenv("ZHIFU_LMK", raising=False)
    monkeypatch.delenv("ZHIFU_LMK_FILE", raising=False)
    return tmp_path


def test_register_terminal_prints_two_components(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = cli("register-terminal", "--merchant", "898100012345678", "--terminal",
                    "10000001", "--name", "till 1")  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert "component 1 — custodian A" in out and "component 2 — custodian B" in out
    assert (home / "lmk.key").exists()
    lines = out.splitlines()
    parts = [
        bytes.fromhex(line.split("component", 1)[1].replace(" ", ""))
        for line in lines
        if line.strip().startswith("component ") and "—" not in line
    ]
    cvs = [line.split()[-1] for line in lines if line.strip().startswith("check value")]
    assert len(parts) == 2 and len(cvs) == 2
    assert [kcv(Cipher.TDES, p).hex().upper() for p in parts] == cvs
    tmk_kcv = kcv(Cipher.TDES, xor(parts[0], parts[1])).hex().upper()
    assert f"check value {tmk_kcv}" in out


def test_register_terminal_json_then_list(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli("register-terminal", "--merchant", "898100012345678", "--terminal", "10000002",
        "--algorithm", "sm4", "--json")  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["algorithm"] == "sm4" and [c["custodian"] for c in data["components"]] == ["A", "B"]
    parts = [bytes.fromhex(c["component"]) for c in data["components"]]
    assert kcv(Cipher.SM4, xor(*parts)).hex().upper() == data["tmk_kcv"]

    cli("terminals", "--json")
    listed = json.loads(capsys.readouterr().out)["terminals"]
    assert [t["terminal_id"] for t in listed] == ["10000002"]
    assert listed[0]["tmk"]["kcv"] == data["tmk_kcv"]
    assert data["components"][0]["component"] not in json.dumps(listed)
    cli("terminals")
    assert "10000002" in capsys.readouterr().out


def test_duplicate_terminal_is_refused(home: Path) -> None:
    cli("register-terminal", "--merchant", "898100012345678", "--terminal", "10000001")
    with pytest.raises(RegistryError, match="already registered"):
        cli("register-terminal", "--merchant", "898100012345678", "--terminal", "10000001")


def test_journal_shows_redacted_traffic(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="no acquirer database"):  # and none is created
        cli("journal")
    assert not (home / "acquirer.db").exists()
    AcquirerHost.open(AcquirerConfig.local(home)).close()
    cli("journal")
    assert capsys.readouterr().out.strip() == "the journal is empty"
    host = AcquirerHost.open(AcquirerConfig.local(home))
    sale = Message("0200", {"2": "6217857600008050804", "3": "000000", "11": "000009",
                            "41": "10000001", "42": "898100012345678"})  # fmt: skip
    host.handle(encode_frame(sale, Tpdu(), Header())[2:], peer="127.0.0.1:9")
    host.close()
    cli("journal", "--last", "5")
    out = capsys.readouterr().out
    assert "0200" in out and "0210" in out and "39=97" in out
    assert "6217857600008050804" not in out
    cli("journal", "--json", "--terminal", "10000001")
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["direction"] for e in entries] == ["in", "out"]
    assert entries[0]["fields"]["2"] == "621785*********0804"
