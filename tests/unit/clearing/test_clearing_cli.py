"""``zhifu clearing``: simulate, and the state-file commands (submit, rounds, positions,
close-round, settle, reconcile), with --json, --csv and the progress bar."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from clearing_helpers import PARTICIPANTS, A, B, C, item

from zhifu.clearing.demo import DEMO
from zhifu.cli.clearing.commands import register
from zhifu.cli.common import emit
from zhifu.core.errors import UsageError


def zhifu(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="zhifu")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    status = emit(args.handler(args), getattr(args, "json", False))
    out, err = capsys.readouterr()
    return status, out, err


def write(path: Path, data: object) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_simulate_json_and_columnar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    day = write(tmp_path / "day.json", DEMO)
    status, out, _ = zhifu(["clearing", "simulate", day, "--json"], capsys)
    outcome = json.loads(out)
    assert status == 0 and outcome["checks"]["books_balanced"]
    assert {i["id"]: i["status"] for i in outcome["items"]}["C6"] == "PR08"
    status, out, _ = zhifu(["clearing", "simulate", day, "--json", "--columnar"], capsys)
    columnar = json.loads(out)
    assert columnar["path"] == "item-by-item"  # the demo revokes a packet: item by item
    assert columnar["bilateral"] == outcome["bilateral"]
    status, out, err = zhifu(["clearing", "simulate", day, "--progress"], capsys)
    assert out.startswith("9 items: PR04 6, PR08 1, PR09 2")
    assert "replay [" in err and err.endswith("\n")
    status, out, _ = zhifu(["clearing", "simulate", day, "--csv"], capsys)
    assert out.splitlines()[0] == "id,status,reason,netting_date,round,node"


def test_state_file_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state.json")
    first = {
        "participants": PARTICIPANTS,
        "items": [
            item("c1", "2025-09-30T10:00:00", A, C, "100.00"),
            item("c2", "2025-09-30T16:30:00", B, C, "60000.00"),
        ],
    }
    status, out, _ = zhifu(
        ["clearing", "submit", write(tmp_path / "a.json", first), "--state", state, "--json"],
        capsys,
    )
    answer = json.loads(out)
    assert answer["added"] == 2 and answer["clock"] == "2025-09-30T16:30:00+08:00"
    assert [i["status"] for i in answer["items"]] == ["PR04", "PR09"]  # c2 is over the limit
    second = {"items": [item("c3", "2025-10-02T10:00:00", A, B, "10.00")]}
    zhifu(["clearing", "submit", write(tmp_path / "b.json", second), "--state", state], capsys)
    status, out, _ = zhifu(["clearing", "close-round", "--state", state, "--json"], capsys)
    assert json.loads(out)["closed"] == "2025-10-02 R2"
    status, out, _ = zhifu(["clearing", "rounds", "--state", state, "--json"], capsys)
    states = {(r["beps_date"], r["round"]): r["state"] for r in json.loads(out)["rounds"]}
    assert states == {("2025-09-30", 2): "settled", ("2025-10-02", 2): "submitted"}
    status, out, _ = zhifu(
        ["clearing", "settle", "--state", state, "--at", "2025-10-09T08:30:00", "--json"], capsys
    )
    assert json.loads(out)["settled"] == [{"beps_date": "2025-10-02", "round": 2}]
    status, out, _ = zhifu(
        ["clearing", "positions", "--state", state, "--date", "2025-10-02", "--json"], capsys
    )
    assert json.loads(out)["bilateral"] == [
        {
            "beps_date": "2025-10-02",
            "round": 2,
            "node": "CCPC-1000",
            "bank_a": A,
            "bank_b": B,
            "net": "-10.00",
        }
    ]
    status, out, _ = zhifu(["clearing", "reconcile", "--state", state, "--json"], capsys)
    assert status == 0 and json.loads(out)["balanced"]
    status, out, _ = zhifu(["clearing", "reconcile", "--state", state, "--csv"], capsys)
    assert out.splitlines()[0] == "beps_date,bank,paid_count,paid,received_count,received,net"
    late = {"items": [item("c0", "2025-09-29T10:00:00", A, C, "1.00")]}
    with pytest.raises(UsageError, match="earlier than the clock"):
        zhifu(["clearing", "submit", write(tmp_path / "c.json", late), "--state", state], capsys)


def test_demo_without_state(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = zhifu(["clearing", "positions", "--date", "2025-10-09"], capsys)
    assert status == 0 and "NPC" in out
    status, out, _ = zhifu(["clearing", "reconcile"], capsys)
    assert status == 0 and "2025-10-09: balanced" in out
