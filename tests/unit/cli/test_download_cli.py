"""``zhifu acquirer download`` and ``zhifu terminal download`` end to end on a data directory and a
terminal folder: register, install the platform key, build and apply every kind, refusals with
exit 1 and a JSON reason, bad arguments with exit 2 naming the option, ``--help`` everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zhifu.cli.main import main

MID, TID = "898100012345678", "10000001"


class Cli:
    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp, self.capsys = tmp_path, capsys
        self.term = str(tmp_path / "term")

    def run(self, *argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = self.capsys.readouterr()
        return status, out, err

    def json(self, *argv: str, status: int = 0) -> dict[str, Any]:
        code, out, err = self.run(*argv, "--json")
        assert code == status, (out, err)
        data = json.loads(out)
        assert isinstance(data, dict)
        return data


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("ZHIFU_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("ZHIFU_LMK", "4B" * 32)
    runner = Cli(tmp_path, capsys)
    reg = runner.json("acquirer", "register-terminal", "--merchant", MID, "--terminal", TID,
                      "--merchant-name", "湖畔面馆")  # fmt: skip
    parts = [arg for c in reg["components"] for arg in ("--tmk-component", c["component"])]
    assert runner.run("terminal", "init", "--state", runner.term, "--merchant", MID,
                      "--terminal", TID, *parts)[0] == 0  # fmt: skip
    return runner


def test_every_kind_built_by_the_platform_applies_on_the_terminal(cli: Cli) -> None:
    key = cli.json("acquirer", "download", "key")
    assert key["signature_algorithm"] == "SM2-SM3" and len(key["public_key"]) == 130
    trusted = cli.json("terminal", "download", "trust", "--state", cli.term,
                       "--public-key", key["public_key"])  # fmt: skip
    assert trusted["key_id"] == key["key_id"]

    out = str(cli.tmp / "params-1.zdl")
    built = cli.json("acquirer", "download", "build", "--terminal", TID, "--kind", "params",
                     "--out", out)  # fmt: skip
    assert (built["version"], built["full"], len(built["added"])) == (1, True, 5)
    applied = cli.json("terminal", "download", "apply", out, "--state", cli.term)
    assert applied == {**applied, "applied": True, "kind": "params", "version": 1}
    refused = cli.json("terminal", "download", "apply", out, "--state", cli.term, status=1)
    assert (refused["applied"], refused["reason"]) == (False, "replayed")

    table = cli.tmp / "params.json"  # the wanted table as a file: the merchant renamed
    table.write_text(json.dumps({"terminal": {"merchant_name": "湖畔面馆二店"}}), "utf-8")
    delta = cli.json("acquirer", "download", "build", "--terminal", TID, "--kind", "params",
                     str(table), "--out", str(cli.tmp / "params-2.zdl"))  # fmt: skip
    assert (delta["updated"], len(delta["deleted"]), delta["base_version"]) == (["terminal"], 4, 1)
    status, text, _ = cli.run("terminal", "download", "apply", str(cli.tmp / "params-2.zdl"),
                              "--state", cli.term)  # fmt: skip
    assert status == 0 and "applied params version 2 (delta, was 1)" in text

    program = cli.tmp / "pos.bin"
    program.write_bytes(b"\x7fELF pos 2.0")
    for argv in (
        ("--kind", "capk"),
        ("--kind", "keys", "--key", "pik=pin", "--key", "mak=mac"),
        ("--kind", "program", str(program), "--program-version", "2.0"),
    ):
        path = str(cli.tmp / f"{argv[1]}.zdl")
        cli.json("acquirer", "download", "build", "--terminal", TID, *argv, "--out", path)
        assert cli.json("terminal", "download", "apply", path, "--state", cli.term)["applied"]

    shown = cli.json("terminal", "download", "show", "--state", cli.term)
    assert shown["platform_key"]["key_id"] == key["key_id"]
    assert {k: t["version"] for k, t in shown["tables"].items()} == {
        "capk": 1, "keys": 1, "params": 2, "program": 1}  # fmt: skip
    assert sorted(shown["tables"]["keys"]["entries"]) == ["mak", "pik"]
    history = cli.json("acquirer", "download", "history", "--terminal", TID)
    assert len(history["packages"]) == 5
    records = cli.json("audit", "list")["records"]
    assert sum(r["action"] == "download.build" for r in records) == 5


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (("acquirer", "download", "build", "--terminal", TID, "--kind", "params", "missing.json",
          "--out", "p.zdl"), "FILE"),
        (("acquirer", "download", "build", "--terminal", TID, "--kind", "keys", "--key", "zmk=kek",
          "--out", "p.zdl"), "--key"),
        (("acquirer", "download", "build", "--terminal", "99999999", "--kind", "capk", "--out",
          "p.zdl"), "--terminal"),
        (("acquirer", "download", "build", "--terminal", TID, "--kind", "capk", "--out",
          "no/such/folder/p.zdl"), "--out"),
        (("acquirer", "download", "build", "--terminal", TID, "--kind", "program", "--out",
          "p.zdl"), "FILE"),
        (("terminal", "download", "apply", "missing.zdl", "--state", "TERM"), "PACKAGE"),
        (("terminal", "download", "trust", "--state", "TERM", "--public-key", "04XY"),
         "--public-key"),
        (("terminal", "download", "trust", "--state", "TERM", "--public-key", "0400"),
         "--public-key"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_option(cli: Cli, argv: tuple[str, ...], option: str) -> None:
    argv = tuple(cli.term if a == "TERM" else a for a in argv)
    status, out, err = cli.run(*argv)
    assert (status, out) == (2, ""), err
    assert err.startswith(f"zhifu: error: {option}: ") and len(err.strip().splitlines()) == 1


def test_a_bad_params_file_is_refused_before_a_version_is_spent(cli: Cli) -> None:
    table = cli.tmp / "bad.json"
    table.write_text(json.dumps({"terminal": {"merchant_name": "x", "floor": 1.5}}), "utf-8")
    status, _, err = cli.run("acquirer", "download", "build", "--terminal", TID, "--kind",
                             "params", str(table), "--out", str(cli.tmp / "p.zdl"))  # fmt: skip
    assert status == 2 and "FILE: not a valid params table" in err
    assert cli.json("acquirer", "download", "history", "--terminal", TID)["packages"] == []


@pytest.mark.parametrize(
    "argv",
    [
        ("acquirer", "download"),
        ("acquirer", "download", "key"),
        ("acquirer", "download", "build"),
        ("acquirer", "download", "history"),
        ("terminal", "download"),
        ("terminal", "download", "trust"),
        ("terminal", "download", "apply"),
        ("terminal", "download", "show"),
    ],
)
def test_help_everywhere(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--help"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.startswith("usage: zhifu " + " ".join(argv))
