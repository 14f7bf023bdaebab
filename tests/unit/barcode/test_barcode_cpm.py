"""EMVCo consumer-presented payloads (docs/standards/barcode.md §4.2): the POI checks, each refusal
as a DecodeError naming the tag and offset, and no PAN in errors or reprs."""

from __future__ import annotations

import base64

import pytest

from zhifu.barcode.codes.cpm import decode_cpm, read_ber_tlv
from zhifu.core.errors import DecodeError

PFI = bytes.fromhex("8505") + b"CPV01"
AID_UP = bytes.fromhex("4F08A000000333010102")  # UnionPay credit AID
# Luhn-valid UnionPay PAN (docs/standards/barcode.md §4.3)
PAN_UP = bytes.fromhex("5A086263600100713672")


def tlv(tag: str, value: bytes) -> bytes:
    return bytes.fromhex(tag) + bytes([len(value)]) + value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_unionpay_cpm() -> None:
    cpm = decode_cpm(b64(PFI + tlv("61", AID_UP + PAN_UP + tlv("9F25", bytes.fromhex("3672")))))
    app = cpm.applications[0]
    assert (app.aid, app.pan, app.masked_pan) == (
        "A000000333010102",
        "6263600100713672",
        "626360******3672",
    )
    assert "6263600100713672" not in repr(cpm) and "6263600100713672" not in str(cpm.to_dict())


def test_a_template_without_a_good_aid_is_skipped() -> None:
    short_aid = tlv("61", tlv("4F", bytes(4)) + PAN_UP)
    no_aid = tlv("61", PAN_UP)
    cpm = decode_cpm(b64(PFI + short_aid + no_aid + tlv("61", AID_UP + PAN_UP)))
    assert [a.aid for a in cpm.applications] == ["A000000333010102"]


def test_padding_between_objects_is_skipped() -> None:
    cpm = decode_cpm(b64(PFI + b"\x00\x00" + tlv("61", AID_UP + b"\x00" + PAN_UP)))
    assert cpm.applications[0].pan == "6263600100713672"


def test_long_length_forms() -> None:
    label = tlv("50", b"L")
    app = bytes.fromhex("6181") + bytes([len(AID_UP + PAN_UP + label)]) + AID_UP + PAN_UP + label
    assert decode_cpm(b64(PFI + app)).applications[0].label == "L"
    app2 = bytes.fromhex("618200") + bytes([len(AID_UP + PAN_UP)]) + AID_UP + PAN_UP
    assert decode_cpm(b64(PFI + app2)).applications[0].aid == "A000000333010102"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "prefix"),
        ("hQVDUFZ", "prefix"),
        ("AAAA" + b64(PFI), "prefix"),
        ("hQVDUFYwMQ=", "base64"),  # bad padding
        ("hQVDUFYwMQ==!", "base64"),
        ("hQVDUFY" + "A" * 5000, "base64"),
        ("hQVDUFYwMQé=", "base64"),
        (b64(PFI), "61"),
        (b64(bytes.fromhex("8505") + b"CPV02" + tlv("61", AID_UP + PAN_UP)), "85"),
        (b64(PFI + tlv("61", PAN_UP)), "4F"),
        (b64(PFI + tlv("61", AID_UP)), "57"),
        (b64(PFI + tlv("61", AID_UP + PAN_UP) + tlv("62", PAN_UP)), "5A"),
        (b64(PFI + tlv("61", AID_UP + tlv("57", bytes.fromhex("1234")))), "57"),
        (b64(PFI + tlv("61", AID_UP + tlv("5A", b"\x12\xab"))), "5A"),
        (b64(PFI + bytes.fromhex("6110") + AID_UP), "61"),  # runs past the data
        (b64(PFI + bytes.fromhex("61")), "61"),
        (b64(PFI + bytes.fromhex("6183000001") + AID_UP), "61"),
        (b64(PFI + bytes.fromhex("9F")), None),
        (b64(PFI + bytes.fromhex("9F8181810101")), None),
        (b64(PFI + bytes.fromhex("9F81810100") + tlv("61", AID_UP + PAN_UP)), None),  # 4 bytes
        (b64(PFI + tlv("61", AID_UP + PAN_UP) + b"\xff"), None),  # FF is a tag, not padding
        (b64(PFI + b"\xff" + tlv("61", AID_UP + PAN_UP)), "61"),  # FF 61 is one tag
    ],
)
def test_refusals_name_the_tag(text: str, field: str | None) -> None:
    with pytest.raises(DecodeError) as info:
        decode_cpm(text)
    assert info.value.field == field
    assert "6263600100713672" not in str(info.value)


def test_nesting_is_bounded() -> None:
    data = PAN_UP
    for _ in range(6):
        data = tlv("61", data)
    with pytest.raises(DecodeError, match="nested"):
        read_ber_tlv(data)


def test_the_reader_keeps_offsets() -> None:
    objects = read_ber_tlv(PFI + tlv("61", AID_UP + PAN_UP))
    app = objects[1]
    assert (app.tag_hex, app.offset) == ("61", 7)
    assert app.children is not None and [(c.tag_hex, c.offset) for c in app.children] == [
        ("4F", 9),
        ("5A", 19),
    ]


@pytest.mark.parametrize(
    ("track2", "reason"),
    [
        ("6263600100713672D2512F", "service_code"),
        ("6263600100713672DD201F", "no expiry or service code"),
        ("6263600100713672D251220" + "1" * 29, "longer than 19 bytes"),
        ("6263600100713672D2512201A1", "not a digit or D"),
        ("D2512201", "pan"),
    ],
)
def test_track2_refusals_point_at_the_template(track2: str, reason: str) -> None:
    app = tlv("61", AID_UP + tlv("57", bytes.fromhex(track2)))
    with pytest.raises(DecodeError) as info:
        decode_cpm(b64(PFI + tlv("61", AID_UP + PAN_UP) + app))
    assert (info.value.field, info.value.offset) == ("57", 29)
    assert reason in info.value.reason and "6263600100713672" not in str(info.value)


def test_track2_and_objects_never_show_the_pan() -> None:
    track2 = tlv("57", bytes.fromhex("6263600100713672D25122011234567F"))
    cpm = decode_cpm(b64(PFI + tlv("61", AID_UP + track2)))
    app = cpm.applications[0]
    assert app.track2 is not None and app.track2.pan == "6263600100713672"
    assert (app.track2.expiry, app.track2.service_code, app.masked_pan) == (
        "2512",
        "201",
        "626360******3672",
    )
    for text in (repr(cpm), repr(cpm.objects), repr(app.track2), str(cpm.to_dict())):
        assert "6263600100713672" not in text and "1234567" not in text
