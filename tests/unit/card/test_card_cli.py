"""``zhifu card issue|apdu|show|profiles`` and ``zhifu emv tlv`` (registered on a local parser
the same way cli/main.py wires them), and the one-line errors of ``zhifu`` itself for files and
folders that are not what an option wants."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zhifu.card.image.model import CardImage
from zhifu.card.issuer import IssuerKeys
from zhifu.cli.card.commands import register, register_emv
from zhifu.cli.common import emit
from zhifu.cli.main import main

SRC = str(Path(__file__).resolve().parents[3] / "src")
RUNNER = (
    "import argparse, sys\n"
    "from zhifu.cli.card.commands import register, register_emv\n"
    "from zhifu.cli.common import emit\n"
    "parser = argparse.ArgumentParser(prog='zhifu')\n"
    "sub = parser.add_subparsers()\n"
    "register(sub); register_emv(sub)\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(emit(args.handler(args), args.json))\n"
)
SELECT = "00A4040008A00000033301010100"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="zhifu")
    sub = parser.add_subparsers()
    register(sub)
    register_emv(sub)
    args = parser.parse_args(argv)
    status = emit(args.handler(args), args.json)
    return status, capsys.readouterr().out


@pytest.fixture
def card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "ref.json"
    status, out = run(capsys, "card", "issue", "--profile", "pboc-reference", "--out", str(path))
    assert status == 0 and "622800******1117" in out
    return path


def test_issue_with_pan_and_issuer_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_card, keys = tmp_path / "debit.json", tmp_path / "issuer.json"
    argv = ["card", "issue", "--profile", "debit", "--pan", "6228000000000011"]
    status, out = run(capsys, *argv, "--out", str(out_card), "--issuer", str(keys), "--json")
    data = json.loads(out)
    assert (
        status == 0 and data["pan"] == "622800******0011" and data["aids"] == ["A000000333010101"]
    )
    assert "new issuer keys" in data["issuer"] and keys.exists()
    assert (
        oct(keys.stat().st_mode & 0o777) == "0o600"
        and oct(out_card.stat().st_mode & 0o777) == "0o600"
    )
    status, out = run(capsys, *argv, "--out", str(tmp_path / "two.json"), "--issuer", str(keys))
    first = CardImage.load(out_card).applications[0].keys["tdes"].mk_ac
    assert CardImage.load(tmp_path / "two.json").applications[0].keys["tdes"].mk_ac == first


def test_apdu_arguments(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "card", "apdu", "--card", str(card), SELECT, "80CA9F7900", "80FF0000")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 3
    assert lines[0].startswith("6F57") and lines[0].endswith("9000")
    assert lines[1:] == ["9F79060000000000009000", "6D00"]
    status, out = run(capsys, "card", "apdu", "--card", str(card), "--json", SELECT, "80CA9F3600")
    assert [json.loads(line)["sw"] for line in out.splitlines()] == ["9000", "9000"]
    assert json.loads(out.splitlines()[1])["data"] == "9F36020000"


def test_apdu_bad_hex_is_a_usage_error(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exception, match="HEX"):
        run(capsys, "card", "apdu", "--card", str(card), "00A4XX")


def test_apdu_from_stdin_answers_each_line_before_the_next(card: Path) -> None:
    env = os.environ | {"PYTHONPATH": SRC}
    with subprocess.Popen(
        [sys.executable, "-c", RUNNER, "card", "apdu", "--card", str(card)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(SELECT + "\n")
        proc.stdin.flush()
        fci = proc.stdout.readline().strip()  # answered while stdin is still open
        assert fci.endswith("9000")
        pdol_data = "0156" + "00" + "000000001000" + "0156" + "00" * 20
        proc.stdin.write("# a comment\n\n80A8000021831F" + pdol_data + "00\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "80127C00080101001001020018010201200103009000"
        proc.stdin.write("0020008008249999FFFFFFFFFF\nnot-hex\n80CA9F1700\n")
        proc.stdin.close()
        rest = proc.stdout.read().split()
        assert proc.wait(timeout=30) == 2  # the bad line
    assert rest == ["63C2", "9F1701029000"]
    assert CardImage.load(card).applications[0].state.pin_tries == 2  # the file was updated
    assert CardImage.load(card).applications[0].state.atc == 1


def test_show_masks_the_pan_and_hides_keys(card: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "card", "show", "--card", str(card))
    assert status == 0 and "622800******1117" in out
    for secret in ("6228000100001117", "11223344006677881122334455007788", "241234FFFFFFFFFF"):
        assert secret not in out
    status, out = run(capsys, "card", "show", "--card", str(card), "--json")
    data = json.loads(out)
    text = json.dumps(data)
    assert "6228000100001117" not in text and "8B4F854F0831FBF2635A212E4DDDB92A" not in text
    assert "mk_ac" not in text and "private_key" not in text
    app = data["applications"][0]
    assert app["pan"] == "622800******1117" and app["algorithms"] == ["tdes"]
    assert app["paths"]["dc"]["afl"] == "08010100100102001801020120010300"


def test_show_masks_the_pan_inside_sm2_certificates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "debit.json"
    run(
        capsys,
        "card",
        "issue",
        "--profile",
        "debit",
        "--pan",
        "6228000000000011",
        "--out",
        str(path),
    )
    for extra in ((), ("--json",)):
        status, out = run(capsys, "card", "show", "--card", str(path), *extra)
        assert status == 0 and "6228000000000011" not in out and "622800******0011" in out
    assert "'UnionPay Debit'" in run(capsys, "card", "show", "--card", str(path))[1]


def test_profiles_and_emv_tlv(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "card", "profiles")
    assert status == 0 and {"pboc-reference", "debit", "credit", "ecash"} <= set(out.split())
    status, out = run(capsys, "emv", "tlv", "700A5A086228000100001117")
    assert status == 0 and "622800******1117" in out and out.startswith("70")
    status, out = run(capsys, "emv", "tlv", "--json", "--reveal", "700A5A086228000100001117")
    assert json.loads(out)["tlv"][0]["children"][0]["value"] == "6228000100001117"


# ------------------------------------------------------------------------------ usage errors

ISSUE = ["card", "issue", "--profile", "pboc-reference"]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder with a card, an issuer key file, some JSON, a PNG and a damaged card."""
    assert main([*ISSUE, "--out", str(tmp_path / "ref.card")]) == 0
    IssuerKeys.test().save(tmp_path / "issuer.json")
    (tmp_path / "some.json").write_text('{"name": "not a card"}')
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    damaged = json.loads((tmp_path / "ref.card").read_text())
    damaged["applications"][0]["aid"] = "A0"
    (tmp_path / "damaged.card").write_text(json.dumps(damaged))
    return tmp_path


# (argv with {dir} for the folder, exit status, what the one line on stderr says)
USAGE_CASES = [
    ([*ISSUE, "--out", "{dir}/missing/new.card"], 2,
     "--out: the folder {dir}/missing does not exist"),
    ([*ISSUE, "--out", "{dir}/ref.card"], 2, "--out: {dir}/ref.card exists (give --force"),
    ([*ISSUE, "--out", "{dir}"], 2, "--out: {dir} is a folder"),
    ([*ISSUE, "--out", "{dir}/ref.card", "--force"], 0, ""),
    (["card", "issue", "--profile", "{dir}/ref.card", "--out", "{dir}/new.card"], 2,
     "--profile: {dir}/ref.card is a card file, not a card profile"),
    (["card", "issue", "--profile", "{dir}/picture.png", "--out", "{dir}/new.card"], 2,
     "--profile: {dir}/picture.png is not a card profile (not text)"),
    ([*ISSUE, "--issuer", "{dir}/ref.card", "--out", "{dir}/new.card"], 2,
     "--issuer: {dir}/ref.card is a card file, not an issuer key file"),
    ([*ISSUE, "--issuer", "{dir}/picture.png", "--out", "{dir}/new.card"], 2,
     "--issuer: {dir}/picture.png is not an issuer key file (not text)"),
    ([*ISSUE, "--issuer", "{dir}/missing/issuer.json", "--out", "{dir}/new.card"], 2,
     "--issuer: the folder {dir}/missing does not exist"),
    (["card", "apdu", "--card", "{dir}/issuer.json", "00A4040000"], 2,
     "--card: {dir}/issuer.json is an issuer key file, not a card file"),
    (["card", "apdu", "--card", "{dir}/some.json", "00A4040000"], 2,
     "--card: {dir}/some.json is not a card file (JSON, but none of the files zhifu writes)"),
    (["card", "apdu", "--card", "{dir}/picture.png", "00A4040000"], 2,
     "--card: {dir}/picture.png is not a card file (not text)"),
    (["card", "apdu", "--card", "{dir}/damaged.card", "00A4040000"], 2,
     "--card: {dir}/damaged.card is a damaged card file (an AID is 5 to 16 bytes in "
     "applications[0].aid)"),
    (["card", "apdu", "--card", "{dir}/missing.card", "00A4040000"], 2,
     "--card: cannot read the card file (No such file or directory)"),
    (["card", "apdu", "--card", "{dir}", "00A4040000"], 2, "--card: cannot read the card file"),
    (["card", "show", "--card", "{dir}/issuer.json"], 2,
     "--card: {dir}/issuer.json is an issuer key file, not a card file"),
    (["card", "show", "--card", "{dir}/picture.png"], 2,
     "--card: {dir}/picture.png is not a card file (not text)"),
    (["card", "show"], 2, "--card: the card file is required"),
    (["card", "show", "--card", "{dir}/ref.card", "{dir}/ref.card"], 2,
     "--card: give the card once"),
    (["card", "show", "{dir}/ref.card"], 0,
     "zhifu: warning: 'card show CARD' is deprecated, use --card CARD"),
    (["card", "show", "--card", "{dir}/ref.card"], 0, ""),
    (["card", "serve-vpcd", "--card", "{dir}/picture.png", "--port", "1"], 2,
     "--card: {dir}/picture.png is not a card file (not text)"),
    (["card", "serve-vpcd", "--card", "{dir}/ref.card", "--port", "0"], 2,
     "--port: a TCP port is 1 to 65535, not '0'"),
    (["card", "serve-vpcd", "--card", "{dir}/ref.card", "--port", "65536"], 2,
     "--port: a TCP port is 1 to 65535, not '65536'"),
    (["card", "serve-vpcd", "--card", "{dir}/ref.card", "--port", "-1"], 2,
     "--port: a TCP port is 1 to 65535, not '-1'"),
    (["card", "serve-vpcd", "--card", "{dir}/ref.card", "--port", "vpcd"], 2,
     "--port: a TCP port is 1 to 65535, not 'vpcd'"),
    (["card", "serve-vpcd", "--card", "{dir}/ref.card", "--host", "256.1.1.1"], 2,
     "--host: not an IP address: '256.1.1.1'"),
    (["card", "serve-vpcd", "--card", "{dir}/ref.card", "--host", "pcscd host"], 2,
     "--host: not an IP address or a host name: 'pcscd host'"),
    (["card", "serve-vpcd", "--card", "{dir}/ref.card", "--host", "192.0.2.1"], 2,
     "--host: 192.0.2.1 is not an address of this machine"),
    (["card", "serve-vpcd", "--card", "{dir}/picture.png", "--host", "192.0.2.1"], 2,
     "--host: 192.0.2.1 is not an address of this machine"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "status", "says"), USAGE_CASES)
def test_usage_errors_name_the_option_in_one_line(
    files: Path, capsys: pytest.CaptureFixture[str], argv: list[str], status: int, says: str
) -> None:
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in files.iterdir()}
    try:
        code = main([arg.format(dir=files) for arg in argv])
    except SystemExit as exc:  # argparse refuses an option's value itself
        code = exc.code
    assert code == status
    err = capsys.readouterr().err
    expected = says.format(dir=files)
    if status == 2:
        assert err.startswith(f"zhifu: error: {expected}") and err.count("\n") == 1, err
    else:
        assert err.startswith(expected)
    for leaked in ("internal error", "Traceback", "field ", "zhifu-card/1", "format"):
        assert leaked not in err
    if status:  # refused: nothing was written or changed
        assert {p.name: p.read_bytes() for p in files.iterdir()} == before


def test_force_replaces_the_card(files: Path) -> None:
    card = files / "ref.card"
    first = CardImage.load(card).applications[0].icc_key["rsa"].serial
    assert main([*ISSUE, "--out", str(card), "--force"]) == 0
    assert CardImage.load(card).applications[0].icc_key["rsa"].serial != first  # a new card


def test_check_says_whether_the_card_conforms(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = files / "ref.card"
    capsys.readouterr()
    assert main(["card", "check", "--card", str(card)]) == 0
    assert "every data element as the dictionary gives it" in capsys.readouterr().out
    data = json.loads(card.read_text())
    data["applications"][0]["records"]["3.3"] = "70045F280156"  # 5F28 one byte short
    card.write_text(json.dumps(data))
    assert main(["card", "check", "--card", str(card), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"] == [
        {
            "where": "A000000333010101 record 3.3",
            "tag": "5F28",
            "problem": "length 1, the dictionary gives 2",
        }
    ]
