"""``zhifu iso8583 decode`` / ``encode``: text, JSON, masking, input forms, errors, MAC."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from zhifu.cli.main import main

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "iso8583"


def _hex(name: str) -> str:
    text = (VECTORS / f"{name}.hex").read_text(encoding="utf-8")
    return "".join(line for line in text.splitlines() if not line.startswith("#"))


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_decode_text_masks_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, ["iso8583", "decode", _hex("t14_bl1_0200_sale")])
    assert status == 0
    assert "6224242900000113" not in out
    assert "622424******0113" in out
    assert "主账号 primary account number (PAN)" in out
    assert "9F26 Application Cryptogram [8] 95BBE372271DDA7C" in out
    assert "60.1 交易类型码: 22  sale" in out
    assert "masked  fields 2, 14, 35, 52, 55 (use --reveal)" in out
    assert out.splitlines()[0] == "frame   length 426, profile cup"


def test_decode_reveal_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, ["iso8583", "decode", "--reveal", _hex("t14_bl1_0200_sale")])
    assert status == 0 and "6224242900000113" in out
    status, out, _ = _run(capsys, ["iso8583", "decode", "--json", _hex("t14_bl1_0200_sale")])
    data = json.loads(out)
    assert data["mti"] == "0200" and data["fields"]["2"]["value"] == "622424******0113"
    assert data["tpdu"]["destination"] == "0006"
    assert data["fields"]["55"]["tlv"][0]["tag"] == "9F26"
    assert data["fields"]["64"]["text"] == "8F651B26"


def test_decode_sign_on_keys_and_sub_fields(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, ["iso8583", "decode", "--json", _hex("t07_j8_0810_signon")])
    keys = json.loads(out)["fields"]["62"]["sign_on_keys"]
    assert keys["pik"] == "<16 bytes>" and keys["mak_single_length"] is False
    _, out, _ = _run(capsys, ["iso8583", "decode", "--bare", _hex("x07_blog_0830_capk_query")])
    assert 'DF05 CA public key expiry (YYYYMMDD) [8] 3230323431323331 "20241231"' in out
    assert "record 12" in out


@pytest.mark.parametrize("form", ["file", "stdin", "colons"])
def test_decode_input_forms(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    form: str,
) -> None:
    text = _hex("t15_bl3_0200_qr")
    argv = ["iso8583", "decode", "--json"]
    if form == "file":
        path = tmp_path / "frame.hex"
        path.write_text(" ".join(text[i : i + 2] for i in range(0, len(text), 2)) + "\n")
        argv += ["--file", str(path)]
    elif form == "stdin":
        monkeypatch.setattr("sys.stdin", io.StringIO(text + "\n"))
    else:
        argv.append(":".join(text[i : i + 2] for i in range(0, len(text), 2)).lower())
    status, out, _ = _run(capsys, argv)
    assert status == 0 and json.loads(out)["fields"]["22"]["value"] == "030"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--bare", "0200" "4000000000000000" "20" + "00" * 10], "HEX: field 2 at offset 10"),
        (["0015" "6006010000" "613100311108" "0800" "0400000000000000"], "field 6 at offset 15"),
        (["0014" "6006010000"], "field length at offset 0"),
        (["12G4"], "HEX: not hexadecimal"),
        (["--no-length", "6006010000613100311108" "0200" "2000000000000000" "0000"],
         "field 3 at offset 21"),
    ],
)  # fmt: skip
def test_broken_frames_give_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    status, out, err = _run(capsys, ["iso8583", "decode", *argv])
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err


def test_encode_round_trip_from_file_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = _hex("t09_yt_0210_sale")
    status, out, _ = _run(capsys, ["iso8583", "decode", "--json", "--reveal", text])
    path = tmp_path / "frame.json"
    path.write_text(out, encoding="utf-8")
    status, out, _ = _run(capsys, ["iso8583", "encode", "--file", str(path)])
    assert status == 0 and out.strip() == text.upper()
    monkeypatch.setattr("sys.stdin", io.StringIO(path.read_text(encoding="utf-8")))
    status, out, _ = _run(capsys, ["iso8583", "encode", "--json"])
    assert json.loads(out) == {"hex": text.upper(), "length": len(text) // 2}


def test_encode_accepts_plain_values() -> None:
    argv = ["iso8583", "encode", json.dumps({"mti": "0800", "fields": {"11": "000001"}})]
    assert main(argv) == 0


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("not json", "JSON: not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"mti": "0200", "fields": {"4": "12"}}), "JSON: field 4"),
        (json.dumps({"mti": "0200", "fields": {"4": 12}}), "value must be a string"),
        (json.dumps({"form": "frame", "mti": "0200", "fields": {}}), "needs 'tpdu' and 'header'"),
        (json.dumps({"form": "x", "mti": "0200", "fields": {}}), "form must be"),
        (json.dumps({"mti": "0200", "fields": {}, "profile": "visa"}), "unknown profile"),
    ],
)
def test_encode_errors_exit_2(
    capsys: pytest.CaptureFixture[str], payload: str, expected: str
) -> None:
    status, _, err = _run(capsys, ["iso8583", "encode", payload])
    assert status == 2 and expected in err


def test_encode_refuses_masked_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(
        capsys, ["iso8583", "decode", "--json", _hex("t12_wh_0200_sale"), "--bare"]
    )
    status, _, err = _run(capsys, ["iso8583", "encode", out])
    assert status == 2 and "are masked: decode with --reveal" in err


@pytest.mark.parametrize(
    ("name", "key", "extra"),
    [
        ("t05_go_log_0200_qr_sale", "DAB36167E6DFB5EF", []),  # M1
        ("t15_bl3_0200_qr", "0723C80DB5F4CD3D0723C80DB5F4CD3D", ["--mac-cipher", "3des"]),  # M2
    ],
)
def test_encode_computes_the_mac(
    capsys: pytest.CaptureFixture[str], name: str, key: str, extra: list[str]
) -> None:
    text = _hex(name)
    _, out, _ = _run(capsys, ["iso8583", "decode", "--json", "--reveal", text])
    desc = json.loads(out)
    del desc["fields"]["64"]
    desc["bitmap"] = "ignored on input"
    status, out, _ = _run(capsys, ["iso8583", "encode", json.dumps(desc), "--mac-key", key, *extra])
    assert status == 0 and out.strip() == text.upper()


def test_encode_x9_19_mac(capsys: pytest.CaptureFixture[str]) -> None:
    payload = json.dumps({"mti": "0200", "fields": {"3": "000000"}})
    key = "0123456789ABCDEFFEDCBA9876543210"
    status, out, _ = _run(
        capsys, ["iso8583", "encode", payload, "--mac-key", key, "--mac-alg", "x9.19"]
    )
    assert status == 0 and len(out.strip()) == (2 + 8 + 3 + 8) * 2
    status, _, err = _run(
        capsys, ["iso8583", "encode", payload, "--mac-key", "00" * 8, "--mac-alg", "x9.19"]
    )
    assert status == 2 and "--mac-key" in err


def test_both_argument_and_file_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = _run(capsys, ["iso8583", "decode", "00", "--file", str(tmp_path / "x")])
    assert status == 2 and "--file" in err
    status, _, err = _run(capsys, ["iso8583", "decode", "--file", str(tmp_path / "missing")])
    assert status == 2 and "cannot read it" in err
