"""PAN helpers (ISO/IEC 7812-1 Luhn, BIN, masking) and the service-code table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.codec.pan import (
    SERVICE_CODE_DIGITS,
    bin_of,
    describe_service_code,
    generate_pan,
    is_luhn_valid,
    luhn_check_digit,
    mask_pan,
    validate_pan,
)
from zhifu.core.errors import UsageError
from zhifu.core.rng import SeededRandom

# (source, digits without check digit, check digit)
LUHN_VECTORS = [
    ("ISO/IEC 7812-1 Annex B worked example as widely published", "7992739871", "3"),
    ("docs/standards/card-terminal.md §1.9 reference card PAN", "622800010000111", "7"),
    ("common test PAN 4111 1111 1111 1111", "411111111111111", "1"),
    ("widely published test PAN 5555 5555 5555 4444", "555555555555444", "4"),
    ("widely published 15-digit test PAN 3782 822463 10005", "37828224631000", "5"),
    ("all zeros", "000000000000", "0"),
]


@pytest.mark.parametrize(("source", "digits", "check"), LUHN_VECTORS)
def test_luhn_vectors(source: str, digits: str, check: str) -> None:
    assert luhn_check_digit(digits) == check, source
    assert is_luhn_valid(digits + check)
    assert not is_luhn_valid(digits + str((int(check) + 1) % 10))


@pytest.mark.parametrize("bad", ["", "12a4", "１２３", " 123"])
def test_luhn_check_digit_refuses_non_digits(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        luhn_check_digit(bad)
    assert info.value.argument == "digits"


@pytest.mark.parametrize("value", ["", "0", "12a", "６２２８", None, 6228])
def test_is_luhn_valid_never_raises(value: object) -> None:
    assert is_luhn_valid(value) is False  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pan", "reason"),
    [
        ("62280001000011", "digits"),  # 14 digits but a bad check digit
        ("6228 0001 0000 1117", "digits only"),
        ("62280001117", "12 to 19"),
        ("62280001000011170000", "12 to 19"),
        ("6228000100001118", "Luhn"),
    ],
)
def test_validate_pan_names_the_argument_and_never_echoes_it(pan: str, reason: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_pan(pan)
    assert info.value.argument == "pan"
    assert pan not in str(info.value) and pan.replace(" ", "") not in str(info.value)


def test_validate_pan_accepts_12_to_19_digits() -> None:
    assert validate_pan("6228000100001117") == "6228000100001117"
    for length in (12, 19):
        pan = "4" * (length - 1)
        assert validate_pan(pan + luhn_check_digit(pan)) == pan + luhn_check_digit(pan)


def test_bin_of() -> None:
    assert bin_of("6228000100001117") == "622800"
    assert bin_of("6228000100001117", 8) == "62280001"
    with pytest.raises(UsageError):
        bin_of("6228000100001117", 7)
    with pytest.raises(UsageError):
        bin_of("622800")


@pytest.mark.parametrize(
    ("pan", "masked"),
    [
        ("6228000100001117", "622800******1117"),
        ("622800010000111712", "622800********1712"),
        ("62280001000", "622800*1000"),
        ("1234567890", "**********"),
    ],
)
def test_mask_pan(pan: str, masked: str) -> None:
    assert mask_pan(pan) == masked


def test_generate_pan_is_repeatable_with_a_seed_and_valid() -> None:
    first = generate_pan("622800", random=SeededRandom(3))
    assert first == generate_pan("622800", random=SeededRandom(3))
    assert first.startswith("622800") and len(first) == 16 and is_luhn_valid(first)
    assert len(generate_pan("62", length=19)) == 19
    for bad_args in ({"bin_prefix": "6" * 16}, {"bin_prefix": "62a"}, {"length": 11}):
        with pytest.raises(UsageError):
            generate_pan(**{"bin_prefix": "622800", **bad_args})  # type: ignore[arg-type]


@settings(max_examples=300)
@given(st.text("0123456789", min_size=11, max_size=18), st.data())
def test_luhn_detects_every_single_digit_error(body: str, data: st.DataObject) -> None:
    pan = body + luhn_check_digit(body)
    assert is_luhn_valid(pan)
    pos = data.draw(st.integers(0, len(pan) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != pan[pos]]))
    assert not is_luhn_valid(pan[:pos] + other + pan[pos + 1 :])


def test_service_code_table() -> None:
    assert set(SERVICE_CODE_DIGITS) == {1, 2, 3}
    for digits in SERVICE_CODE_DIGITS.values():
        assert all(len(d) == 1 and d.isdigit() and meaning for d, meaning in digits.items())
    assert set(SERVICE_CODE_DIGITS[3]) == set("01234567")


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        ("201", ("international, chip present", "normal authorisation", "no restrictions")),
        ("220", ("international, chip present", "contact issuer (online)",
                 "no restrictions, PIN required")),
        ("101", ("international", "normal authorisation", "no restrictions")),
        ("999", ("test", "reserved", "reserved")),
    ],
)  # fmt: skip
def test_describe_service_code(code: str, meaning: tuple[str, str, str]) -> None:
    # docs/standards/card-terminal.md §4: 201 = the reference card; 220/226 common on Chinese debit
    # cards.
    assert describe_service_code(code) == meaning


def test_describe_service_code_refuses_bad_codes() -> None:
    for bad in ("20", "2011", "2a1"):
        with pytest.raises(UsageError):
            describe_service_code(bad)
