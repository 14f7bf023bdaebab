"""``zhifu demo``: the day runs every kind of transaction and its checks pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zhifu.cli.main import main


def test_the_demo_day_passes_its_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    status = main(["demo", "--folder", str(tmp_path / "day"), "--json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert status == 0 and out["passed"] is True, out["checks"]
    assert set(out["checks"]) == {
        "card ledger balanced", "barcode ledgers balanced", "clearing positions sum to zero",
        "customer postings, reserves and summary reconciled", "audit trail verifies",
    }  # fmt: skip
    seen = {(row["what"], row["outcome"]) for row in out["outcomes"]}
    for expected in [("purchase (chip)", "approved"), ("purchase (tap)", "approved"),
                     ("purchase (fallback)", "approved"), ("wrong PIN", "55"),
                     ("expired card", "Z1"), ("no answer", "reversal pending"),
                     ("after the reversal", "approved"), ("settlement", "balanced"),
                     ("barcode payment", "paid"), ("e-cash load", "approved")]:  # fmt: skip
        assert expected in seen, expected
    assert "clearing: obligations and credits through BEPS" in captured.err  # progress on stderr
