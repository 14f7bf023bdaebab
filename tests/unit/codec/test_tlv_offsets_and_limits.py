"""BER-TLV: where each decoded object starts, the stricter reading a profile may ask for (tag
and length field sizes, 00-only padding) and a repr that masks what render_tree masks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.codec.tags import tag_size
from zhifu.codec.tlv import Tlv, decode, encode, encode_tag, tlv
from zhifu.core.errors import DecodeError, UsageError

PAN = "6228000100001117"
RECORD = bytes.fromhex("7016" + "5A08" + PAN + "5F3401" + "01" + "9F3602" + "0001" + "00" + "8E00")
STRICT: dict[str, Any] = {"max_tag_bytes": 3, "max_length_bytes": 2, "ff_padding": False}


def _walk(items: list[Tlv] | tuple[Tlv, ...]) -> list[Tlv]:
    return [x for item in items for x in (item, *_walk(item.children))]


def test_offsets_point_at_each_tag() -> None:
    items = _walk(decode(RECORD))
    assert [(item.tag_hex, item.offset) for item in items] == [
        ("70", 0),
        ("5A", 2),
        ("5F34", 12),
        ("9F36", 16),
        ("8E", 22),  # after one 00 padding byte
    ]
    shifted = _walk(decode(RECORD, offset_base=100))
    assert [item.offset for item in shifted] == [100, 102, 112, 116, 122]


def test_offsets_take_no_part_in_equality_and_built_objects_have_none() -> None:
    decoded = decode(RECORD)
    built = [tlv("70", list(decoded[0].children))]  # without the padding byte
    assert built[0].offset is None and [t.offset for t in built[0].children] == [2, 12, 16, 22]
    again = decode(b"\x00\x00" + encode(built))
    assert again == built and again[0].offset == 2


@pytest.mark.parametrize(
    ("data", "keywords", "field", "offset", "reason"),
    [
        ("9F8101" + "00", {}, None, None, None),  # a 3-byte tag is fine under both
        ("9F818101" + "00", {}, None, None, None),
        ("9F818101" + "00", STRICT, "tag", 0, "tag longer than 3 bytes"),
        ("5A81" + "01" + "FF", STRICT, None, None, None),
        ("5A8200" + "01" + "FF", STRICT, None, None, None),
        ("5A830000" + "01" + "FF", STRICT, "5A", 1, "length field of 4 bytes (at most 3)"),
        ("5A830000" + "01" + "FF", {}, None, None, None),
        ("5A01" + "FF", {"max_length_bytes": 0}, None, None, None),
        ("5A8101" + "FF", {"max_length_bytes": 0}, "5A", 1, "(at most 1)"),
        ("9F02", {"max_tag_bytes": 1}, "tag", 0, "tag longer than 1 bytes"),
    ],
)
def test_tag_and_length_limits(
    data: str, keywords: dict[str, Any], field: str | None, offset: int | None, reason: str | None
) -> None:
    if reason is None:
        assert decode(bytes.fromhex(data), **keywords)
        return
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex(data), **keywords)
    assert (info.value.field, info.value.offset) == (field, offset)
    assert reason in info.value.reason


def test_ff_is_padding_unless_the_profile_says_otherwise() -> None:
    data = bytes.fromhex("FF" + "5A01" + "12" + "FF")
    assert decode(data) == [Tlv(0x5A, b"\x12")]
    with pytest.raises(DecodeError) as info:  # FF 5A is a constructed tag holding 12
        decode(data[:-1], ff_padding=False)
    assert (info.value.field, info.value.offset) == ("12", 4)  # its length is missing
    assert decode(bytes.fromhex("00" + "5A01" + "12" + "00"), ff_padding=False)[0].offset == 1


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("max_tag_bytes", 0), ("max_tag_bytes", 5), ("max_length_bytes", -1), ("max_length_bytes", 5)],
)
def test_limits_out_of_range_are_usage_errors(keyword: str, value: int) -> None:
    with pytest.raises(UsageError) as info:
        decode(b"", **dict[str, Any]({keyword: value}))
    assert info.value.argument == keyword


def test_nesting_bound_names_the_tag_and_says_nested() -> None:
    data = b"\x61\x00"
    for _ in range(5):
        data = b"\x61" + bytes([len(data)]) + data
    assert decode(data, max_depth=6)
    with pytest.raises(DecodeError, match="nested deeper than 5 levels") as info:
        decode(data, max_depth=5)
    assert (info.value.field, info.value.offset) == ("61", 8)


def test_repr_masks_pan_track2_and_name() -> None:
    children = [
        tlv("5A", bytes.fromhex(PAN)),
        tlv("57", bytes.fromhex(PAN + "D30122010123456789")),
        tlv("5F20", b"LEE"),
        tlv("9F36", b"\x00\x01"),
        tlv("5F34", b"\x01"),
    ]
    items = decode(encode([tlv("70", children)]))
    text = repr(items)
    assert PAN not in text and "LEE" not in text and "3012" not in text
    assert text == (
        "[Tlv(70, [Tlv(5A [8] 622800******1117), "
        "Tlv(57 [17] 622800******1117D*****************), Tlv(5F20 [3] ******), "
        "Tlv(9F36 [2] 0001), Tlv(5F34 [1] 01)])]"
    )
    assert repr(Tlv(0x84)) == "Tlv(84 [0])"


_ANY = st.binary(max_size=80)


@settings(max_examples=300, deadline=None)
@given(_ANY, st.sampled_from([{}, STRICT]))
def test_every_decoded_offset_is_that_of_its_tag(data: bytes, keywords: dict[str, Any]) -> None:
    try:
        items = decode(data, max_depth=64, **keywords)
    except DecodeError as error:
        assert error.offset is not None and 0 <= error.offset <= len(data)
        return
    for item in _walk(items):
        assert item.offset is not None
        assert data[item.offset : item.offset + tag_size(item.tag)] == encode_tag(item.tag)
