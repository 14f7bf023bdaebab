"""The EMV/PBOC tag dictionary checked as a table (docs/standards/style.md habit 1)."""

from __future__ import annotations

from collections import Counter

import pytest

from zhifu.codec.tags import (
    FORMATS,
    SENSITIVE_TAGS,
    SOURCES,
    TAGS,
    TagInfo,
    lookup,
    name_of,
    tag_hex,
    tag_size,
)
from zhifu.codec.tlv import encode_tag

# Tags the issue and docs/standards/card-terminal.md §1.2-1.9 name; each must be in the dictionary.
REQUIRED = """
4F 50 57 5A 5F20 5F24 5F25 5F28 5F2A 5F2D 5F30 5F34 61 6F 70 71 72 77 80 82 84 86 87 88 8C 8D
8E 8F 90 91 92 93 94 95 9A 9C 9D 9F02 9F03 9F07 9F08 9F0D 9F0E 9F0F 9F10 9F11 9F12 9F13 9F14
9F17 9F1A 9F1F 9F21 9F23 9F26 9F27 9F32 9F33 9F34 9F35 9F36 9F37 9F38 9F42 9F44 9F45 9F46 9F47
9F48 9F49 9F4A 9F4B 9F4C 9F4D 9F4E 9F4F 9F51 9F52 9F53 9F56 9F57 9F58 9F59 9F5D 9F63 9F66 9F68
9F69 9F6B 9F6C 9F6D 9F72 9F74 9F76 9F77 9F78 9F79 9F7A 9F7B A5 BF0C DF4D DF4F DF60 DF61 DF62
DF63 DF69 DF71 DF72 DF76 DF77 DF78 DF79
""".split()  # noqa: SIM905


def test_tags_are_unique() -> None:
    duplicates = [tag_hex(t) for t, n in Counter(i.tag for i in TAGS).items() if n > 1]
    assert duplicates == []


@pytest.mark.parametrize("info", TAGS, ids=lambda i: i.tag_hex)
def test_entry_is_consistent(info: TagInfo) -> None:
    first_byte = encode_tag(info.tag)[0]  # a well-formed BER tag of 1 to 4 bytes
    assert info.constructed == bool(first_byte & 0x20)
    assert 0 <= info.min_len <= info.max_len <= 0xFFFF
    assert info.fmt in FORMATS
    assert info.source in SOURCES
    assert info.name and info.name == info.name.strip()
    if info.constructed:
        assert info.fmt == "b"


@pytest.mark.parametrize("tag", REQUIRED)
def test_required_tag_is_present(tag: str) -> None:
    assert lookup(tag) is not None, tag


# docs/standards/card-terminal.md §1.5 (e-cash tags) and 1.9 (reference card values): lengths and
# formats.
REFERENCE_VALUES = [
    ("9F79", "000000000000", "n"),
    ("9F77", "000000015000", "n"),
    ("9F78", "000000001000", "n"),
    ("9F6D", "000000001500", "n"),
    ("9F74", "454343303031", "an"),
    ("9F6B", "000000000500", "n"),
    ("9F5D", "000000000001", "n"),
    ("9F51", "0156", "n"),
    ("9F6C", "3000", "b"),
    ("9F68", "92701000", "b"),
    ("9F52", "8240", "b"),
    ("9F08", "0030", "b"),
    ("5F24", "301231", "n"),
    ("5F25", "950701", "n"),
    ("5F28", "0156", "n"),
    ("5F30", "0201", "n"),
    ("5F34", "01", "n"),
    ("9F07", "FFC0", "b"),
    ("9F14", "03", "b"),
    ("9F23", "07", "b"),
    ("9F17", "03", "b"),
    ("9F4D", "0B0A", "b"),
    ("DF4D", "0C0A", "b"),
    ("9F0D", "F020040000", "b"),
    ("9F10", "07010103000000010A01000000000000000000", "b"),
    ("9F7A", "01", "b"),
    ("5A", "6228000100001117", "cn"),
    ("57", "6228000100001117D30122010123456789", "b"),
]


@pytest.mark.parametrize(("tag", "value", "fmt"), REFERENCE_VALUES)
def test_reference_card_values_fit_the_dictionary(tag: str, value: str, fmt: str) -> None:
    info = lookup(tag)
    assert info is not None
    assert info.min_len <= len(bytes.fromhex(value)) <= info.max_len
    assert info.fmt == fmt


def test_sources_follow_the_spec() -> None:
    assert lookup("9F02").source == "terminal"  # type: ignore[union-attr]
    assert lookup("9F79").source == "card"  # type: ignore[union-attr]
    assert lookup("91").source == "issuer"  # type: ignore[union-attr]
    assert lookup("DF69").source == "terminal"  # type: ignore[union-attr] # filled by the terminal in the PDOL (1.7)


def test_sensitive_tags_are_in_the_dictionary() -> None:
    assert {"pan", "track2", "secret"} <= set(SENSITIVE_TAGS.values())
    assert all(lookup(tag) is not None for tag in SENSITIVE_TAGS)


def test_lookup_and_name_of() -> None:
    assert lookup(0x9F02) is lookup("9f02") is lookup("9F02")
    assert lookup("zz") is None and lookup("") is None and lookup(0x9F99) is None
    assert name_of("9F79") == "Electronic Cash Balance"
    assert name_of(0xDF99) == "Unknown tag"
    assert (tag_size(0x5A), tag_size(0x9F02), tag_size(0xDF8101)) == (1, 2, 3)
    assert lookup(0xBF0C).tag_hex == "BF0C"  # type: ignore[union-attr]
