"""Property tests: encode/decode round trip of random valid messages under every profile, and
random bytes raising only DecodeError (the 10,000-case mutation run is tests/fuzz/)."""

from __future__ import annotations

import contextlib
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.core.errors import DecodeError
from zhifu.iso8583.codec import decode, decode_frame, encode
from zhifu.iso8583.describe import describe_frame
from zhifu.iso8583.message import Message
from zhifu.iso8583.profiles import PROFILES, Profile, get_profile
from zhifu.iso8583.specs import FieldSpec

PRINTABLE = string.ascii_letters + string.digits + " .,:-/*#=@"
HEX = "0123456789ABCDEF"
CAP = 48  # keep long variable fields short: the codec does not care, the run time does


def _value(spec: FieldSpec) -> st.SearchStrategy[str]:
    fixed = spec.length_type == "fixed"
    low, high = (spec.max_len, spec.max_len) if fixed else (0, min(spec.max_len, CAP))
    if spec.fmt == "n":
        return st.text("0123456789", min_size=low, max_size=high)
    if spec.fmt == "z":
        return st.text("0123456789D", min_size=low, max_size=high)
    if spec.fmt == "b":
        return st.binary(min_size=low, max_size=high).map(lambda b: b.hex().upper())
    if spec.charset == "gbk" and not fixed:
        return st.text(PRINTABLE + "银联中国交易成功", max_size=high // 2)
    return st.text(PRINTABLE, min_size=low, max_size=high)


@st.composite
def messages(draw: st.DrawFn, profile: Profile) -> Message:
    numbers = draw(st.sets(st.sampled_from(sorted(profile.specs, key=int)), max_size=20))
    fields = {n: draw(_value(profile.spec(n))) for n in numbers}
    pads = {}
    for number, value in fields.items():
        spec = profile.spec(number)
        if spec.is_bcd and len(value) % 2 and draw(st.booleans()):
            pad = draw(st.sampled_from(HEX))
            if pad != spec.pad:
                pads[number] = pad
    mti = draw(st.text("0123456789", min_size=4, max_size=4))
    return Message(mti, fields, pads)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(PROFILES)), st.data())
def test_round_trip_random_valid_messages(name: str, data: st.DataObject) -> None:
    profile = get_profile(name)
    message = data.draw(messages(profile))
    raw = encode(message, profile)
    again = decode(raw, profile)
    assert again == message
    assert encode(again, profile) == raw


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for attempt in (
        lambda: decode(data),
        lambda: decode_frame(data),
        lambda: describe_frame(data, form="bare"),
    ):
        with contextlib.suppress(DecodeError):
            attempt()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1).map(lambda v: v & ~(1 << 63)), st.binary(max_size=120))
def test_random_bitmaps_raise_only_decode_error(bitmap: int, body: bytes) -> None:
    raw = bytes.fromhex("0200") + bitmap.to_bytes(8, "big") + body
    try:
        message = decode(raw)
    except DecodeError:
        return
    assert encode(message) == raw
