"""Magnetic-stripe tracks: ISO/IEC 7811 LRC and parity, ISO/IEC 7813 tracks 1/2, ISO/IEC 4909
track 3, the EMV track 2 equivalent; round trips and fuzzing."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.codec.tracks import (
    TRACK1_LAYOUT,
    TRACK2_LAYOUT,
    TRACK3_LAYOUT,
    Track1,
    Track2,
    Track3,
    TrackError,
    from_codes,
    lrc,
    to_codes,
    track2_equivalent_decode,
    track2_equivalent_encode,
)
from zhifu.core.errors import DecodeError, UsageError

PAN = "6228000100001117"  # docs/standards/card-terminal.md §1.9 reference card
# docs/standards/card-terminal.md §1.9, record SFI 1 rec 1
TAG_57 = "6228000100001117D30122010123456789"


# ------------------------------------------------------------------------------ LRC and parity

# MagTek "I/O Interface for TTL Magnetic Stripe Readers", section 3 and page 4 (worked examples).
LRC_VECTORS = [
    (";0?", 2, "4"),
    (";01?", 2, "5"),
    (";0124?", 2, "3"),
    ("%AT3?", 1, "<"),
]


@pytest.mark.parametrize(("text", "track", "expected"), LRC_VECTORS)
def test_lrc_vectors(text: str, track: int, expected: str) -> None:
    assert lrc(text, track) == expected


def test_codes_carry_odd_parity() -> None:  # MagTek page 4: P column of "%AT3?" and its LRC
    assert to_codes("%AT3?<", 1) == bytes([0x45, 0x61, 0x34, 0x13, 0x1F, 0x1C])
    assert to_codes(";01?4", 2) == bytes([0x0B, 0x10, 0x01, 0x1F, 0x04])
    assert from_codes(to_codes(";01?4", 2), 2) == ";01?4"
    assert from_codes(to_codes("%AT3?<", 1), 1) == "%AT3?<"
    with pytest.raises(TrackError) as info:
        from_codes(bytes([0x0B, 0x00]), 2)  # '0' without its parity bit
    assert (info.value.field, info.value.offset) == ("parity", 1)
    with pytest.raises(UsageError):
        to_codes("a", 2)
    with pytest.raises(UsageError):
        lrc(";0?", 4)


@settings(max_examples=300)
@given(st.text(";=0123456789?", max_size=40))
def test_lrc_makes_every_bit_column_even(text: str) -> None:
    framed = text + lrc(text, 2)
    value = 0
    for char in framed:
        value ^= ord(char) - 0x30
    assert value == 0


# ------------------------------------------------------------------------------ tracks 1 and 2


def test_track2_reference_card() -> None:
    track = Track2(PAN, "3012", "201", "0123456789")
    text = track.encode()
    assert text == ";6228000100001117=30122010123456789?" + lrc(text[:-1])
    assert Track2.decode(text) == track
    assert Track2.decode(text[:-1]) == track  # LRC optional by default
    assert Track2.decode(track.encode(with_sentinels=False), with_sentinels=False) == track
    assert track2_equivalent_encode(track).hex().upper() == TAG_57
    assert track2_equivalent_decode(bytes.fromhex(TAG_57)) == track
    assert track2_equivalent_decode(TAG_57) == track  # ISO 8583 field 35 text with D


def test_track2_equivalent_pads_odd_lengths_with_f() -> None:
    track = Track2(PAN, "3012", "201", "123")
    assert track2_equivalent_encode(track).hex().upper() == PAN + "D3012201123F"
    assert track2_equivalent_decode(bytes.fromhex(PAN + "D3012201123F")) == track


def test_absent_fields_become_separators() -> None:
    track = Track2(PAN)
    assert track.encode(with_lrc=False) == f";{PAN}===?"
    assert Track2.decode(track.encode()) == track
    only_code = Track2(PAN, service_code="101", discretionary="99")
    assert only_code.encode(with_lrc=False) == f";{PAN}==10199?"
    assert Track2.decode(only_code.encode()) == only_code


def test_track1_reference_card() -> None:
    track = Track1(PAN, "FULL/FUNCTIONAL", "3012", "201", "0000000123000000")
    text = track.encode()
    assert text.startswith("%B6228000100001117^FULL/FUNCTIONAL^3012201")
    assert text[-2] == "?" and text[-1] == lrc(text[:-1], 1)
    assert Track1.decode(text) == track
    assert Track1.decode(text, with_lrc=True) == track
    assert Track1(PAN, "AB").encode(with_lrc=False) == f"%B{PAN}^AB^^^?"


def test_reprs_mask_pan_and_hide_name_and_discretionary_data() -> None:
    t1 = Track1(PAN, "ZHANG/SAN", "3012", "201", "123")
    assert repr(t1) == (
        "Track1(pan='622800******1117', name=<9 chars>, expiry='3012', service_code='201', "
        "discretionary=<3 chars>)"
    )
    t3 = Track3("01", PAN, card_security_number="123456789", pin_parameters="101234")
    assert PAN not in repr(t3) and "123456789" not in repr(t3) and "101234" not in repr(t3)


def test_track3_round_trip_with_defaults_and_separators() -> None:
    track = Track3("01", PAN, currency_code="156", currency_exponent="2", expiry="3012",
                   card_security_number="123456789", san1="1234", additional_data="77")  # fmt: skip
    data = track.encode(with_lrc=False)
    assert data == (
        ";01" + PAN + "=" + "=" + "156"
        "2"
        "0000"
        "0000"
        "0000"
        "00"
        "0" + "=" + "0"
        "00"
        "00"
        "00"
        "3012"
        "0"
        "123456789"
        "1234="
        "="
        "0"
        "000000"
        "77"
        "?"
    )
    assert Track3.decode(track.encode()) == track
    assert [f.name for f in TRACK3_LAYOUT][:3] == ["format_code", "pan", "country_code"]
    assert len(TRACK3_LAYOUT) == 23  # ISO/IEC 4909 fields 2 to 27 without the separators


def test_layouts_are_consistent() -> None:
    for layout in (TRACK1_LAYOUT, TRACK2_LAYOUT, TRACK3_LAYOUT):
        names = [f.name for f in layout]
        assert len(names) == len(set(names))
        for f in layout:
            assert 0 <= f.lo <= f.hi and f.kind in ("fixed", "optional", "variable", "rest")
            if f.kind in ("fixed", "optional"):
                assert f.lo == f.hi


# ------------------------------------------------------------------------------ bad tracks

T2 = f";{PAN}=30122010123456789?"

BAD_TRACKS = [
    # (decoder, text, field, offset)
    (Track2, T2[1:], "start sentinel", 0),
    (Track2, T2[:-1].replace("?", ""), "end sentinel", len(T2) - 1),
    (Track2, T2.replace("=", ":"), "pan", len(T2) - 1),
    (Track2, T2.replace("6228", "62:8"), "pan", 1),
    (Track2, T2 + "0", "LRC", len(T2)),
    (Track2, T2 + lrc(T2) + "0", "LRC", len(T2) + 1),
    (Track2, f";{PAN}=3012201" + "0" * 20 + "?", "track", 0),  # 41 characters
    (Track2, f";{PAN}=30A2201?", "track", 20),
    (Track2, f";{PAN}=301?", "expiry", 18),
    (Track2, f";{PAN}=301220?", "service_code", 22),
    (Track2, ";=3012201?", "pan", 1),
    (Track2, ";1;2=3012?", "track", 2),
    (Track1, "%A6228000100001117^AB^3012201?", "format_code", 1),
    (Track1, f"%B{PAN}^A^3012201?", "name", 19),
    (Track1, f"%B{PAN}^" + "N" * 27 + "^3012201?", "name", 19),
    (Track1, f"%B{PAN}AB^3012201?", "pan", 2),
    (Track1, f"%B{PAN}^AB^3012201" + "0" * 60 + "?", "track", 0),  # 80 characters
    (Track1, f"%B{PAN}^AB^3012201~?", "track", len(f"%B{PAN}^AB^3012201")),
    (Track3, ";01" + PAN + "=" + "=156?", "currency_exponent", 24),
    (Track3, ";0" + "?", "format_code", 1),
    (Track3, ";" + "0" * 105 + "?", "track", 0),  # 107 characters plus the LRC: 108
    (Track2, ";" + "0" * 38 + "?", "track", 0),  # 40 characters plus the LRC: 41
]


@pytest.mark.parametrize(("decoder", "text", "field", "offset"), BAD_TRACKS)
def test_bad_tracks_raise_track_error_with_field_and_offset(
    decoder: type[Track1 | Track2 | Track3], text: str, field: str, offset: int
) -> None:
    with pytest.raises(TrackError) as info:
        decoder.decode(text, with_lrc=True if text.endswith("?0") else None)
    assert isinstance(info.value, DecodeError)
    assert (info.value.field, info.value.offset) == (field, offset)
    assert PAN not in str(info.value)


def test_lrc_mismatch_and_strictness() -> None:
    good = Track2(PAN, "3012", "201").encode()
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(TrackError, match="LRC mismatch"):
        Track2.decode(wrong)
    with pytest.raises(TrackError, match="missing LRC"):
        Track2.decode(good[:-1], with_lrc=True)
    with pytest.raises(TrackError, match="unexpected LRC"):
        Track2.decode(good, with_lrc=False)


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (bytes.fromhex(PAN + "A3012201"), 8),  # A is not a track 2 character
        (bytes.fromhex("F" + PAN[1:] + "D3012201"), 0),  # F only as the last nibble
        (bytes(20), 19),
    ],
)
def test_bad_track2_equivalents(data: bytes, offset: int) -> None:
    with pytest.raises(TrackError) as info:
        track2_equivalent_decode(data)
    assert info.value.offset == offset


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"pan": "62280001000011171234"}, "pan"),
        ({"pan": "6228-0001"}, "pan"),
        ({"expiry": "301"}, "expiry"),
        ({"service_code": "2O1"}, "service_code"),
        ({"discretionary": "12=3"}, "discretionary"),
        ({"discretionary": "1" * 19}, "track"),
    ],
)
def test_track2_refuses_bad_fields(kwargs: dict[str, str], argument: str) -> None:
    fields = {"pan": PAN, "expiry": "3012", "service_code": "201", **kwargs}
    with pytest.raises(UsageError) as info:
        Track2(**fields)
    assert info.value.argument == argument
    assert PAN not in str(info.value)


# ------------------------------------------------------------------------------ properties

_digits = st.text("0123456789", min_size=0, max_size=19)
_t1_text = st.text(
    st.sampled_from([chr(c) for c in range(0x20, 0x60) if chr(c) not in "%^?"]), max_size=20
)
_opt = st.none() | st.text("0123456789", min_size=1, max_size=1)


@st.composite
def _track2(draw: st.DrawFn) -> Track2:
    pan = draw(st.text("0123456789", min_size=1, max_size=19))
    expiry = draw(st.none() | st.text("0123456789", min_size=4, max_size=4))
    code = draw(st.none() | st.text("0123456789", min_size=3, max_size=3))
    room = 37 - len(pan) - 1 - (4 if expiry else 1) - (3 if code else 1)
    return Track2(pan, expiry, code, draw(st.text("0123456789", max_size=room)))


@st.composite
def _track1(draw: st.DrawFn) -> Track1:
    t2 = draw(_track2())
    name = draw(_t1_text.filter(lambda n: len(n) >= 2))
    room = 76 - len(t2.data()) - len(name) - 2
    return Track1(t2.pan, name, t2.expiry, t2.service_code, draw(_t1_text)[: max(room, 0)])


@st.composite
def _track3(draw: st.DrawFn) -> Track3:
    values: dict[str, str | None] = {}
    for spec in TRACK3_LAYOUT:
        if spec.kind in ("fixed", "optional"):
            text = draw(st.text("0123456789", min_size=spec.hi, max_size=spec.hi))
            values[spec.name] = None if spec.kind == "optional" and draw(st.booleans()) else text
        else:  # at most 102 characters in all: PAN up to 19, the other variable ones shorter
            most = {"pan": 19, "san1": 9, "san2": 9, "additional_data": 6}[spec.name]
            values[spec.name] = draw(st.text("0123456789", max_size=most))
    return Track3(**values)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(st.one_of(_track1(), _track2(), _track3()), st.booleans(), st.booleans())
def test_round_trip(track: Track1 | Track2 | Track3, sentinels: bool, with_lrc: bool) -> None:
    text = track.encode(with_sentinels=sentinels, with_lrc=with_lrc)
    assert type(track).decode(text, with_sentinels=sentinels) == track
    if isinstance(track, Track2):
        assert track2_equivalent_decode(track2_equivalent_encode(track)) == track


# Random and mutated text (and bytes for the track 2 equivalent and parity codes) give only
# TrackError (10,000 cases for each decoder in one hypothesis run).
_CORPUS = [
    Track1(PAN, "FULL/FUNCTIONAL", "3012", "201", "000123").encode(),
    Track2(PAN, "3012", "201", "0123456789").encode(),
    Track3("01", PAN, currency_code="156", expiry="3012", san1="12").encode(),
]
_ALPHABET = "".join(chr(c) for c in range(0x20, 0x60)) + "ab\x00é"


def _mutate(text: str, seed: int) -> str:
    rng = random.Random(seed)
    out = list(text)
    for _ in range(rng.randint(1, 3)):
        pos = rng.randint(0, len(out))
        kind = rng.choice(("flip", "insert", "delete"))
        if kind == "flip" and pos < len(out):
            out[pos] = rng.choice(_ALPHABET)
        elif kind == "insert":
            out.insert(pos, rng.choice(_ALPHABET))
        else:
            del out[pos : pos + rng.randint(1, 3)]
    return "".join(out)


def _as_track_text(data: bytes) -> str:
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in data)


@settings(max_examples=10_000, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=110).map(lambda data: (_as_track_text(data), data)),
        st.builds(_mutate, st.sampled_from(_CORPUS), st.integers(0, 2**32)).map(
            lambda text: (text, text.encode("latin-1", "replace")[:24])
        ),
    )
)
def test_fuzz_track_decoders(case: tuple[str, bytes]) -> None:
    text, data = case
    for decoder in (Track1.decode, Track2.decode, Track3.decode):
        try:
            decoder(text)
        except TrackError as error:
            assert error.field is not None
    for decode_bytes in (track2_equivalent_decode, from_codes):
        try:
            decode_bytes(data)
        except TrackError as error:
            assert error.field is not None
