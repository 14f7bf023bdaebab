"""Property tests: strict generator <-> lenient parser round trip for random payloads (Chinese
and astral-plane names included), tamper detection, and the generator's strictness."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zhifu.barcode.codes.emvqr.mpm import build_mpm, merchant_fields, parse_mpm
from zhifu.core.errors import EncodeError
from zhifu.core.money import CNY, Money

ANS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=25)
HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
ASTRAL = st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF)  # CJK extension B
CHINESE = st.text(st.one_of(HAN, HAN, HAN, ASTRAL), min_size=1, max_size=25)
DIGITS = st.text(st.sampled_from("0123456789"), min_size=1, max_size=1)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789"), min_size=n, max_size=n)


def _short(strategy: st.SearchStrategy[str], n: int) -> st.SearchStrategy[str]:
    return strategy.map(lambda s: s[:n])


@st.composite
def amounts(draw: st.DrawFn) -> str:
    whole = draw(st.integers(0, 9_999_999))
    frac = draw(st.sampled_from(["", ".", ".5", ".05", ".50", ".99"]))
    text = f"{whole}{frac}"
    assume(text.replace(".", "").strip("0"))
    return text


@st.composite
def merchant_template(draw: st.DrawFn) -> dict[str, str]:
    template = {"00": draw(_short(ANS, 32))}
    for sub in draw(st.lists(st.integers(1, 99), max_size=3, unique=True)):
        template[f"{sub:02d}"] = draw(st.one_of(_short(ANS, 20), _short(CHINESE, 10)))
    return template


@st.composite
def additional_data(draw: st.DrawFn) -> dict[str, str]:
    data: dict[str, str] = {}
    for sub in draw(st.lists(st.integers(1, 8), min_size=1, max_size=3, unique=True)):
        data[f"{sub:02d}"] = draw(st.one_of(st.just("***"), ANS))
    if draw(st.booleans()):
        data["09"] = "".join(draw(st.permutations("AME"))[: draw(st.integers(1, 3))])
    return data


@st.composite
def payload_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["01"] = draw(st.sampled_from(["11", "12"]))
    for i in draw(st.lists(st.integers(2, 51), min_size=1, max_size=2, unique=True)):
        key = f"{i:02d}"
        fields[key] = draw(ANS) if i < 26 else draw(merchant_template())
    fields.update({"52": draw(_digits(4)), "53": draw(st.sampled_from(["156", "344", "840"]))})
    if draw(st.booleans()):
        fields["54"] = draw(amounts())
    fields.update({"58": "CN", "59": draw(ANS), "60": draw(_short(ANS, 15))})
    if draw(st.booleans()):
        fields["62"] = draw(additional_data())
    if draw(st.booleans()):
        fields["64"] = {"00": "ZH", "01": draw(CHINESE)}
        if draw(st.booleans()):
            fields["64"]["02"] = draw(_short(CHINESE, 15))
    if draw(st.booleans()):
        fields[f"{draw(st.integers(80, 99))}"] = draw(merchant_template())
    order = draw(st.permutations(list(fields)))
    return {key: fields[key] for key in order}


def _fits(fields: dict[str, Any]) -> bool:
    try:
        build_mpm(fields)
    except EncodeError:
        return False
    return True


@settings(max_examples=250, deadline=None)
@given(payload_fields())
def test_build_then_parse_round_trips(fields: dict[str, Any]) -> None:
    assume(_fits(fields))  # templates over 99 or payloads over 512 characters are refused
    payload = build_mpm(fields)
    result = parse_mpm(payload)
    assert result.deviations == []
    assert list(result.as_fields().items()) == [("00", "01"), *fields.items()]
    crc = payload[-4:]
    assert crc == crc.upper() and len(crc) == 4 and payload[-8:-4] == "6304"
    assert build_mpm(result.as_fields()) == payload


@settings(max_examples=200, deadline=None)
@given(payload_fields(), st.data())
def test_any_ascii_substitution_is_detected(fields: dict[str, Any], data: st.DataObject) -> None:
    assume(_fits(fields))
    payload = build_mpm(fields)
    ascii_positions = [i for i, c in enumerate(payload[:-4]) if c.isascii()]
    pos = data.draw(st.sampled_from(ascii_positions))
    char = data.draw(st.characters(min_codepoint=0x20, max_codepoint=0x7E))
    assume(char != payload[pos])
    assert not parse_mpm(payload[:pos] + char + payload[pos + 1 :]).valid


@settings(max_examples=100, deadline=None)
@given(CHINESE, _short(CHINESE, 15), st.integers(1, 10**8))
def test_merchant_fields_round_trip(name: str, city: str, minor: int) -> None:
    fields = merchant_fields(
        gui="test.zhifu.pay",
        merchant_id="M0001",
        name="ZHIFU",
        city="SHANGHAI",
        mcc="5812",
        amount=Money(minor, CNY),
        name_zh=name,
        city_zh=city,
    )
    result = parse_mpm(build_mpm(fields))
    assert result.valid and result.value("64.01") == name and result.value("64.02") == city
    assert Money.parse(result.value("54") or "", CNY).minor == minor


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"59": "知付面馆"}, "59"),  # Chinese in an ans field: it belongs in 64
        ({"54": "0.00"}, "54"),
        ({"54": "12,34"}, "54"),
        ({"53": "15A"}, "53"),
        ({"62": {"00": "X"}}, "62.00"),
        ({"64": {"01": "面馆"}}, "64.00"),
        ({"26": {"01": "NO GUI"}}, "26"),
        ({"70": "RFU"}, "70"),
        ({"55": "02"}, "55"),
        ({"59": "N" * 26}, "59"),
    ],
)
def test_generator_refuses_and_names_the_field(change: dict[str, Any], field: str) -> None:
    fields = merchant_fields(gui="g", merchant_id="m", name="N", city="C", mcc="5812")
    fields.update(change)
    with pytest.raises(EncodeError) as info:
        build_mpm(fields)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"63": "ABCD"}, "63"),
        ({"1": "x"}, "1"),
        ({"15": {"00": "x"}}, "15"),
        ({"26": {"00": "x" * 100}}, "26.00"),
        ({"52": 5812}, "52"),
        ({"64": {"00": "ZH", "01": "\ud800"}}, "64.01"),
    ],
)
def test_generator_refuses_bad_shapes(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(EncodeError) as info:
        build_mpm(fields)
    assert info.value.field == field
