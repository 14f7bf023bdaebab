"""The field dictionary and the profiles as tables (docs/standards/iso8583-cup.md §2 and 3)."""

from __future__ import annotations

import dataclasses

import pytest

from zhifu.core.errors import UsageError
from zhifu.iso8583.profiles import PROFILES, Profile, get_profile
from zhifu.iso8583.specs import (
    ABSENT,
    ALIGNS,
    CHARSETS,
    FIELDS,
    FORMATS,
    LENGTH_TYPES,
    MESSAGE_TYPES,
    field_name,
    wire_size,
)

LIMITS = {"fixed": None, "llvar": 99, "lllvar": 999}


def test_every_field_from_1_to_64_is_accounted_for() -> None:
    numbers = {str(n) for n in range(1, 65)}
    assert set(FIELDS) | set(ABSENT) == numbers
    assert not set(FIELDS) & set(ABSENT)
    assert all(reason for reason in ABSENT.values())


@pytest.mark.parametrize("number", sorted(FIELDS, key=int))
def test_field_row_is_consistent(number: str) -> None:
    spec = FIELDS[number]
    assert spec.number == number
    assert spec.fmt in FORMATS and spec.length_type in LENGTH_TYPES and spec.align in ALIGNS
    assert spec.charset in CHARSETS
    assert spec.name_cn and spec.name_en and spec.conf in ("V", "S", "1", "U")
    assert spec.max_len > 0
    limit = LIMITS[spec.length_type]
    assert limit is None or spec.max_len <= limit
    assert (spec.prefix == "") == (spec.length_type == "fixed")
    assert spec.prefix in ("", "bcd")  # the POS flavour writes every length prefix in BCD
    assert spec.counts == ("digits" if spec.is_bcd else "bytes")
    assert spec.pad == ("0" if spec.is_bcd else "")
    assert bool(spec.charset) == spec.is_text
    assert spec.prefix_bytes == {"fixed": 0, "llvar": 1, "lllvar": 2}[spec.length_type]


@pytest.mark.parametrize(
    ("number", "fmt", "size", "length_type"),
    [
        ("2", "n", 19, "llvar"), ("3", "n", 6, "fixed"), ("4", "n", 12, "fixed"),
        ("11", "n", 6, "fixed"), ("12", "n", 6, "fixed"), ("13", "n", 4, "fixed"),
        ("14", "n", 4, "fixed"), ("15", "n", 4, "fixed"), ("22", "n", 3, "fixed"),
        ("23", "n", 3, "fixed"), ("25", "n", 2, "fixed"), ("26", "n", 2, "fixed"),
        ("32", "n", 11, "llvar"), ("35", "z", 37, "llvar"), ("36", "z", 104, "lllvar"),
        ("37", "an", 12, "fixed"), ("38", "an", 6, "fixed"), ("39", "an", 2, "fixed"),
        ("41", "ans", 8, "fixed"), ("42", "ans", 15, "fixed"), ("44", "an", 25, "llvar"),
        ("48", "n", 322, "lllvar"), ("49", "an", 3, "fixed"), ("52", "b", 8, "fixed"),
        ("53", "n", 16, "fixed"), ("54", "an", 20, "lllvar"), ("55", "b", 255, "lllvar"),
        ("58", "ans", 100, "lllvar"), ("59", "ans", 999, "lllvar"), ("60", "n", 17, "lllvar"),
        ("61", "n", 29, "lllvar"), ("62", "b", 512, "lllvar"), ("63", "ans", 163, "lllvar"),
        ("64", "b", 8, "fixed"),
    ],
)  # fmt: skip
def test_field_table_matches_the_digest(number: str, fmt: str, size: int, length_type: str) -> None:
    spec = FIELDS[number]
    assert (spec.fmt, spec.max_len, spec.length_type) == (fmt, size, length_type)


def test_alignment_and_wire_sizes() -> None:
    assert FIELDS["22"].align == "left" and FIELDS["23"].align == "right"
    assert [wire_size(FIELDS[n]) for n in ("3", "22", "23", "53", "52", "41")] == [3, 2, 2, 8, 8, 8]
    assert wire_size(FIELDS["55"]) is None
    assert FIELDS["63"].charset == "gbk" and FIELDS["41"].charset == "ascii"
    assert field_name("2") == "2 主账号 primary account number (PAN)"
    assert field_name("1").startswith("1 secondary bitmap")
    assert field_name("99") == "99 unknown field"


def test_message_types() -> None:
    for mti, (cn, en) in MESSAGE_TYPES.items():
        assert len(mti) == 4 and mti.isdigit() and cn and en


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_is_consistent(name: str) -> None:
    profile = get_profile(name)
    assert profile.name == name and profile.description
    assert set(profile.specs) == set(FIELDS)
    spec = profile.default_spec
    assert {"h", "t", "p", "1"} <= set(spec) and set(FIELDS) <= set(spec)
    for number, field in profile.specs.items():
        assert spec[number]["max_len"] == (wire_size(field) or field.max_len)
    assert profile.allowed_mask >> 63 == 0  # never field 1
    assert profile.numbers == set(FIELDS)


def test_profiles_differ_only_where_the_digest_says() -> None:
    base = get_profile("cup-strict").specs
    allowed = {
        "cup": {"54", "55", "60"},
        "cup-strict": set(),
        "cup-pad-f": {"2", "32", "35", "36", "61", "54", "55", "60"},
        "cup-sm": {"52", "54", "55", "60"},
        "cup-f23-left": {"23", "54", "55", "60"},
    }
    for name, profile in PROFILES.items():
        changed = {n for n, spec in profile.specs.items() if spec != base[n]}
        assert changed == allowed[name], name


def test_profile_validation() -> None:
    with pytest.raises(UsageError):
        Profile("x", "bad", pads={"5": "0"})
    with pytest.raises(UsageError):
        Profile("x", "bad", pads={"2": "G"})
    with pytest.raises(UsageError, match="unknown profile"):
        get_profile("visa")
    custom = Profile("acme", "acme pads 2 with F", pads={"2": "F"})
    assert custom.spec("2").pad == "F"
    assert dataclasses.replace(custom.spec("2"), pad="0") == FIELDS["2"]
    assert custom.pyiso_spec({"2": "0"})["2"]["right_pad"] == "0"
