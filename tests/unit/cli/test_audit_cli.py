"""``zhifu audit``: a terminal's registration is recorded; verify holds, then names the record
an edit broke (exit status 1)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from zhifu.cli.main import main


def test_registration_is_audited_and_tampering_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("ZHIFU_LMK", "7D" * 32)
    for terminal in ("10000001", "10000002"):
        assert main(["acquirer", "register-terminal", "--merchant", "898100012345678",
                     "--terminal", terminal, "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["audit", "list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    people = [r for r in records if r["actor"] != "security-module"]  # its key lines chained
    assert [(r["action"], r["object"]) for r in people] == [
        ("terminal.register", "898100012345678/10000001"),
        ("terminal.register", "898100012345678/10000002"),
    ]
    assert {r["action"] for r in records if r["actor"] == "security-module"} >= {"key.add"}
    assert main(["audit", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == len(records)
    target = people[1]["seq"]
    with sqlite3.connect(tmp_path / "var" / "audit.db") as db:
        db.execute("UPDATE audit SET actor = 'someone else' WHERE seq = ?", (target,))
    assert main(["audit", "verify", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["first_bad"] == target
