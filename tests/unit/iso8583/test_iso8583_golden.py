"""The public real-world frames of docs/standards/iso8583-cup.md decode and re-encode
byte for byte.

Each vector is a pair in tests/vectors/iso8583/: ``<name>.hex`` (the bytes as published, with
``#`` lines naming the source) and ``<name>.json`` (what ``zhifu iso8583 decode --json --reveal``
prints, plus ``vector`` and ``source``). T01-T15 are the digest's vector ids as its references
place them; the x-files are further public frames from the same sources.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from zhifu.cli.main import main
from zhifu.core.errors import DecodeError
from zhifu.iso8583.codec import decode, decode_frame, encode, encode_frame
from zhifu.iso8583.describe import describe_frame, encode_description
from zhifu.iso8583.framing import unframe

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "iso8583"
NAMES = sorted(p.stem for p in VECTORS.glob("*.hex"))


def load(name: str) -> tuple[bytes, dict[str, Any]]:
    text = (VECTORS / f"{name}.hex").read_text(encoding="utf-8")
    data = bytes.fromhex("".join(line for line in text.splitlines() if not line.startswith("#")))
    desc = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return data, desc


def core(desc: dict[str, Any]) -> dict[str, Any]:
    """What a description must keep stable: framing, MTI, bitmap, field values, pads."""
    return {
        "form": desc["form"],
        "profile": desc["profile"],
        "tpdu": desc.get("tpdu", {}).get("hex"),
        "header": desc.get("header", {}).get("hex"),
        "mti": desc["mti"],
        "bitmap": desc["bitmap"],
        "fields": {n: f["value"] for n, f in desc["fields"].items()},
        "pads": desc.get("pads", {}),
    }


def test_the_fifteen_digest_vectors_are_all_here() -> None:
    ids = sorted(load(name)[1]["vector"] for name in NAMES if name.startswith("t"))
    assert ids == [f"T{i:02d}" for i in range(1, 16)]


@pytest.mark.parametrize("name", NAMES)
def test_vector_files_name_their_source(name: str) -> None:
    _, desc = load(name)
    hex_text = (VECTORS / f"{name}.hex").read_text(encoding="utf-8")
    assert "source:" in hex_text
    assert desc["source"]
    assert desc["vector"]


@pytest.mark.parametrize("name", NAMES)
def test_golden_frame_decodes_as_recorded(name: str) -> None:
    data, desc = load(name)
    fresh = describe_frame(data, form=desc["form"], profile=desc["profile"], reveal=True)
    assert core(fresh) == core(desc)


@pytest.mark.parametrize("name", NAMES)
def test_golden_json_encodes_to_the_same_bytes(name: str) -> None:
    data, desc = load(name)
    assert encode_description(desc) == data


@pytest.mark.parametrize("name", NAMES)
def test_golden_frame_round_trips_through_the_codec(name: str) -> None:
    data, desc = load(name)
    if desc["form"] == "frame":
        framed, message = decode_frame(data, desc["profile"])
        assert encode_frame(message, framed.tpdu, framed.header, desc["profile"]) == data
        assert unframe(data).to_bytes() == data
    else:
        body = data if desc["form"] == "bare" else data[11:]
        assert encode(decode(body, desc["profile"]), desc["profile"]) == body


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    return status, out.getvalue()


@pytest.mark.parametrize("name", NAMES)
def test_golden_frame_round_trips_through_the_cli(name: str) -> None:
    data, desc = load(name)
    form = {"frame": [], "bare": ["--bare"], "no-length": ["--no-length"]}[desc["form"]]
    status, printed = _run(["iso8583", "decode", "--json", "--reveal", *form, data.hex()])
    assert status == 0
    status, encoded = _run(["iso8583", "encode", printed])
    assert status == 0
    assert encoded.strip() == data.hex().upper()


def test_golden_pads_are_the_common_zero() -> None:
    """Every published frame pads odd-length BCD fields with 0 (docs/standards/iso8583-cup.md
    §2)."""
    for name in NAMES:
        assert load(name)[1].get("pads", {}) == {}, name


def test_t12_odd_length_pan_and_track_padded_with_zero() -> None:
    data, _ = load("t12_wh_0200_sale")
    message = decode(data)
    assert message["2"] == "6217857600008050804"  # 19 digits, wire 19 6217...0804 0
    assert message["35"] == "6217857600008050804D23082201000082300"  # 37 nibbles, = as D
    assert message["22"] == "071" and message["23"] == "001"
    assert message["53"] == "2600000000000000"  # docs/standards/card-terminal.md T29


def test_t15_field_60_extends_to_19_digits() -> None:
    data, _ = load("t15_bl3_0200_qr")
    _, message = decode_frame(data)
    assert len(message["60"]) == 19
    with pytest.raises(
        DecodeError, match="field 60 at offset 64: Field data is 19 nibbles, larger than maximum 17"
    ):
        decode_frame(data, "cup-strict")


def test_t03_t04_tpdu_swapped_in_the_reply() -> None:
    request = unframe(load("t03_go_log1_0800_signon")[0])
    response = unframe(load("t04_go_log1_0810_signon")[0])
    assert response.tpdu == request.tpdu.reply()
