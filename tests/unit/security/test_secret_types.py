"""Secret value types: masked repr/str/format, explicit reveal, no pickling, PAN masking in text."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.core.errors import UsageError
from zhifu.security.secrets import (
    Cvn,
    ExpiryDate,
    KeyMaterial,
    Pan,
    Pin,
    PinBlock,
    Secret,
    Track2,
    mask_pan,
)

KEY = bytes.fromhex("CAFEBABEDEADBEEF0123456789ABCDEF")

# (value, clear text that must never show, expected repr)
CASES = [
    (Pan("6225881234566789"), "6225881234566789", "Pan('622588******6789')"),
    (Pan("6212261000000000018"), "6212261000000000018", "Pan('621226*********0018')"),
    (Pin("987123"), "987123", "Pin('<redacted>')"),
    (Cvn("123"), "123", "Cvn('<redacted>')"),
    (ExpiryDate("2512"), "2512", "ExpiryDate('<redacted>')"),
    (
        Track2("6225881234566789=25122011234567890"),
        "25122011234567890",
        "Track2('622588******6789=<redacted>')",
    ),
    (
        PinBlock(bytes.fromhex("0412AC89ABCDEF67")),
        "0412AC89ABCDEF67",
        "PinBlock('<8 bytes redacted>')",
    ),
    (KeyMaterial(KEY), KEY.hex().upper(), "KeyMaterial('<16 bytes redacted>')"),
]


def _renderings(value: Secret) -> list[str]:
    return [
        repr(value),
        str(value),
        f"{value}",
        f"{value!r}",
        f"{value:>40}",
        "%s" % value,  # noqa: UP031 - the old formatting path is tested on purpose
        "%r" % (value,),  # noqa: UP031
        "{}".format(value),  # noqa: UP032
        repr([value]),
        repr({"v": value}),
    ]


@pytest.mark.parametrize(("value", "clear", "expected_repr"), CASES)
def test_renderings_are_masked(value: Secret, clear: str, expected_repr: str) -> None:
    assert repr(value) == expected_repr
    for text in _renderings(value):
        assert clear not in text
        assert clear.lower() not in text


@pytest.mark.parametrize(("value", "clear", "expected_repr"), CASES)
def test_pickle_and_json_refused(value: Secret, clear: str, expected_repr: str) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(value)
    with pytest.raises(TypeError):
        json.dumps(value)


@pytest.mark.parametrize(("value", "clear", "expected_repr"), CASES)
def test_unhashable_and_copy_is_same(value: Secret, clear: str, expected_repr: str) -> None:
    with pytest.raises(TypeError):
        hash(value)
    assert copy.copy(value) is value
    assert copy.deepcopy([value])[0] is value


def test_reveal_gives_the_clear_value() -> None:
    assert Pan("6225881234566789").reveal() == "6225881234566789"
    assert Pin("0000").reveal() == "0000"
    assert KeyMaterial(KEY).reveal() == KEY
    assert PinBlock.from_hex("0412AC89ABCDEF67").reveal().hex().upper() == "0412AC89ABCDEF67"


def test_equality_compares_values_not_types() -> None:
    assert Pin("1234") == Pin("1234")
    assert Pin("1234") != Pin("1235")
    assert Pin("1234") != Cvn("123")
    assert Pan("6225881234566789") != "6225881234566789"


def test_failed_assert_shows_only_masks() -> None:
    entered, expected = Pin("".join(["987", "123"])), Pin("".join(["987", "124"]))
    with pytest.raises(AssertionError) as info:
        assert entered == expected
    assert "98712" not in str(info.value)
    assert "<redacted>" in str(info.value)


def test_wipe_zeroes_the_buffer() -> None:
    material = KeyMaterial(KEY)
    material.wipe()
    assert material.reveal() == bytes(16)


def test_track2_parts() -> None:
    t2 = Track2("6225881234566789D25122011234567890")
    assert t2.pan == Pan("6225881234566789")
    assert t2.expiry == ExpiryDate("2512")
    assert t2.service_code == "201"
    assert str(t2) == "622588******6789D<redacted>"


@pytest.mark.parametrize(
    ("text", "masked", "expiry", "service_code"),
    [
        ("6225881234566789=2512201", "622588******6789=<redacted>", "2512", "201"),
        ("6225881234566789d25122011234F", "622588******6789d<redacted>", "2512", "201"),
        ("622588123456=30121010", "622588**3456=<redacted>", "3012", "101"),
        (
            "6212261000000000018D" + "3012" + "201" + "1" * 10,
            "621226*********0018D<redacted>",
            "3012",
            "201",
        ),
    ],
)
def test_track2_forms(text: str, masked: str, expiry: str, service_code: str) -> None:
    t2 = Track2(text)
    assert (str(t2), t2.expiry, t2.service_code) == (masked, ExpiryDate(expiry), service_code)
    assert t2.pan.reveal() == text[: len(t2.pan.reveal())]


@pytest.mark.parametrize(
    "text",
    [
        "62258812345=25122011",  # an 11-digit PAN
        "62258812345667890123=2512201",  # a 20-digit PAN
        "6225881234566789=2512",  # no service code
        "6225881234566789==201",  # no expiry
        "6225881234566789=2512201=1",  # a second separator
        "6225881234566789D2512201" + "1" * 14,  # 38 characters: over the 37 of track 2
        "6225881234566789=2512201FF",
        "\uff16225881234566789=2512201",  # a full-width digit
        " 6225881234566789=2512201",
    ],
)
def test_track2_refusals_never_echo(text: str) -> None:
    with pytest.raises(UsageError) as info:
        Track2(text)
    assert info.value.argument == "track2" and "1234566789" not in str(info.value)


def test_track2_wants_text() -> None:
    with pytest.raises(UsageError):
        Track2(bytes.fromhex("6225881234566789D2512201"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("factory", "value", "argument"),
    [
        (Pan, "12345", "pan"),
        (Pan, "6225 8812 3456 6789", "pan"),
        (Pan, "62258812345667890123", "pan"),
        (Pin, "123", "pin"),
        (Pin, "12345678901234", "pin"),
        (Pin, "12a4", "pin"),
        (Cvn, "12", "cvn"),
        (ExpiryDate, "2513", "expiry"),
        (Track2, "6225881234566789", "track2"),
        (PinBlock, b"\x00" * 7, "block"),
        (KeyMaterial, b"", "key"),
    ],
)
def test_bad_values_refused_without_echo(factory: type, value: object, argument: str) -> None:
    with pytest.raises(UsageError) as info:
        factory(value)
    assert info.value.argument == argument
    if isinstance(value, str) and len(value) > 3:
        assert value not in str(info.value)


def test_logging_a_secret_shows_the_mask(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("zhifu.test.secrets")
    with caplog.at_level(logging.DEBUG, logger="zhifu.test.secrets"):
        log.debug("pan=%s pin=%r key=%s", Pan("6225881234566789"), Pin("987123"), KeyMaterial(KEY))
    assert "622588******6789" in caplog.text
    assert "987123" not in caplog.text
    assert KEY.hex().upper() not in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6225881234566789", "622588******6789"),
        ("pan:6212261000000000018;", "pan:621226*********0018;"),
        ("6225 8812 3456 6789", "6225 88** **** 6789"),
        ("6212-2610-0000-0000-018", "6212-26**-****-***0-018"),
        ("rrn 123456789012 stan 000123 amount 000000001000", None),
        ("20261125160000", "202611****0000"),
        ("no digits here", None),
    ],
)
def test_mask_pan_table(text: str, expected: str | None) -> None:
    assert mask_pan(text) == (text if expected is None else expected)


@settings(max_examples=200)
@given(
    pan=st.text(alphabet="0123456789", min_size=13, max_size=19),
    prefix=st.text(alphabet="abc =:;,", max_size=5),
    suffix=st.text(alphabet="xyz =:;,", max_size=5),
)
def test_mask_pan_never_leaves_more_than_6_plus_4(pan: str, prefix: str, suffix: str) -> None:
    masked = mask_pan(prefix + pan + suffix)
    runs = re.findall(r"\d+", masked)
    assert sum(len(r) for r in runs) == 10
    assert masked.count("*") == len(pan) - 10
