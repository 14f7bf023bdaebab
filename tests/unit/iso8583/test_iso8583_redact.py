"""Redaction for logs: PAN 6+4, tracks, expiry, PIN block and sign-on keys never in clear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zhifu.iso8583.codec import decode, decode_frame
from zhifu.iso8583.describe import describe_message
from zhifu.iso8583.message import Message
from zhifu.iso8583.redact import is_key_block, mask_track, redact, redact_field

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "iso8583"


def _frame(name: str) -> bytes:
    text = (VECTORS / f"{name}.hex").read_text(encoding="utf-8")
    return bytes.fromhex("".join(line for line in text.splitlines() if not line.startswith("#")))


def test_sale_redaction_t12() -> None:
    message = decode(_frame("t12_wh_0200_sale"))
    shown = redact(message)
    text = json.dumps(shown)
    assert "6217857600008050804" not in text
    assert shown["2"] == "621785*********0804"
    assert shown["35"].startswith("621785*********0804D") and set(shown["35"][20:]) == {"*"}
    assert shown["14"] == "****"
    assert shown["52"] == "<PIN block, 8 bytes>" and "7D6A7408" not in text
    assert shown["4"] == message["4"] and shown["53"] == "2600000000000000"
    assert shown["mti"] == "0200"


def test_key_block_never_printed() -> None:
    _, message = decode_frame(_frame("t04_go_log1_0810_signon"))
    assert is_key_block(message)
    shown = redact(message)
    assert shown["62"] == "<working keys, 40 bytes>"
    assert message["62"][:16] not in json.dumps(shown)
    masked = describe_message(message)
    assert "62" in masked["masked_fields"]
    assert masked["fields"]["62"]["sign_on_keys"]["pik"] == "<16 bytes>"
    assert masked["fields"]["62"]["sign_on_keys"]["mak_cv"] == "EDE09D04"


def test_other_field_62_uses_are_printed() -> None:
    message = decode(_frame("x07_blog_0830_capk_query"))
    assert not is_key_block(message)
    assert redact(message)["62"] == message["62"]
    sign_on_request = decode_frame(_frame("t02_go_log_0800_signon"))[1]
    assert redact(sign_on_request)["62"] == sign_on_request["62"]


def test_icc_data_masks_pan_tags() -> None:
    message = Message("0200", {"55": "5A0862178576000080509F360200CD57084761739001010119"})
    assert redact(message)["55"] == "5A=621785******8050 9F36=00CD 57=476173******0119"
    assert redact_field("55", "9F26") == "<2 bytes, not TLV>"


@pytest.mark.parametrize(
    ("track", "shown"),
    [
        ("6225881234566789D2512", "622588******6789D****"),
        ("6225881234566789=2512", "622588******6789D****"),
        ("ABCEF01234", "**********"),
        ("ABD1234567890123", "**D*************"),
    ],
)
def test_mask_track(track: str, shown: str) -> None:
    assert mask_track(track) == shown


def test_no_pan_survives_redaction_of_any_vector() -> None:
    for path in sorted(VECTORS.glob("*.json")):
        desc = json.loads(path.read_text(encoding="utf-8"))
        if "fields" not in desc or "2" not in desc["fields"]:
            continue
        pan = desc["fields"]["2"]["value"]
        data = _frame(path.stem)
        body = (
            data[13:]
            if desc["form"] == "frame"
            else data[11:]
            if desc["form"] == "no-length"
            else data
        )
        shown = json.dumps(redact(decode(body)))
        assert pan not in shown, path.stem
        assert pan[:6] + "*" * (len(pan) - 10) + pan[-4:] in shown
