"""``zhifu qr encode|decode|validate|classify`` (registered on a local parser the way
cli/main.py will wire it; errors go through main()'s handling, reproduced here)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from zhifu.cli.common import cli_argument, emit
from zhifu.cli.qr_cmd import register
from zhifu.core.errors import UsageError, ZhifuError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Like cli/main.py: exit 2 for a UsageError naming the argument, 1 for other errors."""
    parser = argparse.ArgumentParser(prog="zhifu")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        status = emit(args.handler(args), args.json)
    except UsageError as exc:
        argument = cli_argument(args.leaf_parser, exc.argument)
        print(f"zhifu: error: {UsageError(exc.message, argument=argument)}")
        status = 2
    except ZhifuError as exc:
        print(f"zhifu: {exc}")
        status = 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err


MERCHANT = [
    "--gui", "test.zhifu.pay", "--merchant-id", "M0001", "--merchant-name", "ZHIFU NOODLES",
    "--city", "SHANGHAI", "--mcc", "5812",
]  # fmt: skip


def test_encode_a_dynamic_code_with_chinese_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    png, svg = tmp_path / "c.png", tmp_path / "c.svg"
    argv = [*MERCHANT, "--amount", "12.34", "--name-zh", "知付面馆", "--city-zh", "上海"]
    status, out, _ = run(capsys, "qr", "encode", *argv, "--png", str(png), "--svg", str(svg))
    payload = out.splitlines()[0]
    assert status == 0 and payload.startswith("000201010212") and "0104知付面馆" in payload
    assert png.read_bytes().startswith(b"\x89PNG") and svg.read_text().startswith("<?xml")
    status, out, _ = run(capsys, "qr", "decode", "--image", str(png), "--json")
    data = json.loads(out)
    assert status == 0 and data["codes"][0]["valid"]
    tree = {o["id"]: o for o in data["codes"][0]["tree"]}
    assert tree["54"]["value"] == "12.34" and tree["64"]["children"][1]["value"] == "知付面馆"


def test_encode_from_fields(capsys: pytest.CaptureFixture[str]) -> None:
    fields = json.dumps({"26": {"00": "test.zhifu.pay"}, "52": "5812", "53": "156"})
    argv = ["--fields", fields, "--field", "58=CN", "--field", "59=N", "--field", "60=C"]
    status, out, _ = run(capsys, "qr", "encode", *argv, "--field", "62.05=ORDER1", "--json")
    payload = json.loads(out)["payload"]
    assert status == 0 and "62100506ORDER1" in payload


def test_encode_text_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    status, _, _ = run(capsys, "qr", "encode", "--text", "911234567010123456", "--png", str(png))
    assert status == 0
    status, out, _ = run(capsys, "qr", "decode", "--image", str(png))
    assert status == 0 and "payment_code: zhifu wallet [zhifu]" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["qr", "encode"], "--text: nothing to encode"),
        (["qr", "encode", "--text", "x", "--field", "52=1"], "--text: give either"),
        (["qr", "encode", "--gui", "g"], "--merchant-id: needed with --gui"),
        (["qr", "encode", *MERCHANT, "--amount", "1.234"], "--amount: CNY has 2 decimal"),
        (["qr", "encode", *MERCHANT, "--currency", "XXX", "--amount", "1"], "--currency: unknown"),
        (["qr", "encode", "--fields", "{"], "--fields: not JSON"),
        (["qr", "encode", "--fields", "[]"], "--fields: a JSON object"),
        (["qr", "encode", "--field", "52"], "--field: expected ID=VALUE"),
        (["qr", "encode", "--text", "x", "--png", "/nonexistent/dir/x.png"], "--png: cannot"),
        (["qr", "decode"], "PAYLOAD: give a PAYLOAD or --image"),
        (["qr", "decode", "x", "--image", "f"], "PAYLOAD: give a PAYLOAD"),
        (["qr", "decode", "--image", "/nonexistent.png"], "--image: cannot read"),
    ],
)
def test_usage_errors_exit_2_naming_the_argument(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, _ = run(capsys, *argv)
    assert status == 2 and f"zhifu: error: {message}" in out


def test_encode_refuses_a_bad_payload(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "qr", "encode", *MERCHANT, "--field", "59=知付面馆")
    assert status == 2 and "--field: field 59" in out and "FORMAT_ANS" in out


def test_validate(capsys: pytest.CaptureFixture[str], m1: str) -> None:
    assert run(capsys, "qr", "validate", m1)[:2] == (0, "valid\n")
    status, out, _ = run(capsys, "qr", "validate", m1[:-4] + m1[-4:].lower())
    assert status == 0 and "valid (1 warning(s))" in out and "CRC_LOWER_CASE" in out
    tampered = m1.replace("540523.72", "540523.73").replace("0202北京", "0202上海")
    status, out, _ = run(capsys, "qr", "validate", tampered, "--json")
    data = json.loads(out)
    assert status == 1 and not data["valid"]
    assert [d["code"] for d in data["deviations"]] == ["CRC_MISMATCH"]
    status, out, _ = run(capsys, "qr", "validate", "000202" + m1[6:])
    assert status == 1 and "PFI_VALUE" in out and "CRC_MISMATCH" in out


def test_validate_cpm(capsys: pytest.CaptureFixture[str], c1: str) -> None:
    assert run(capsys, "qr", "validate", c1)[:2] == (0, "valid (EMVCo CPM)\n")
    status, out, _ = run(capsys, "qr", "validate", c1[:-4])
    assert status == 1 and out.startswith("invalid: field 61 at offset 7: length 26 runs past")


def test_decode_payloads(capsys: pytest.CaptureFixture[str], m1: str, c2: str) -> None:
    status, out, _ = run(capsys, "qr", "decode", m1)
    assert status == 0 and "    01 Merchant Name - Alternate Language (4): 最佳运输" in out
    assert out.rstrip().endswith("deviations: none")
    status, out, _ = run(capsys, "qr", "decode", c2)
    assert status == 0 and "pan: 123456******3458" in out and "1234567890123458" not in out
    status, out, _ = run(capsys, "qr", "decode", "hQVDUFYwMQ==")
    assert status == 1 and "zhifu: field" in out


def test_decode_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, m5: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(m5 + "\n"))
    status, out, _ = run(capsys, "qr", "decode", "-", "--json")
    assert status == 0 and json.loads(out)["valid"]


@pytest.mark.parametrize(
    ("code", "status", "text"),
    [
        ("120061098828009406", 0, "payment_code: WeChat Pay (Tenpay) [wechat]"),
        ("1200610988280094061", 1, "payment_code: unknown institution"),
        ("https://qr.95516.com/00010000/62222398601660103592632963215836", 0, "[unionpay]"),
        ("https://pay.zhifu.test:443/qr/o/ABCDEFGH", 1, "refused (port)"),
        ("hello", 1, "unknown: unknown institution"),
    ],
)
def test_classify(capsys: pytest.CaptureFixture[str], code: str, status: int, text: str) -> None:
    got, out, _ = run(capsys, "qr", "classify", code)
    assert got == status and text in out


def test_classify_json(capsys: pytest.CaptureFixture[str], m1: str) -> None:
    status, out, _ = run(capsys, "qr", "classify", m1, "--json")
    assert status == 1 and json.loads(out)["kind"] == "emvco_mpm"  # valid, but nobody we know
