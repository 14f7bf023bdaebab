"""The codec on top of pyiso8583: dictionary checks, digits, odd-length fields, pad nibbles,
profiles, error locations, and never touching the caller's message."""

from __future__ import annotations

import copy

import iso8583
import pytest

from zhifu.core.errors import DecodeError, EncodeError
from zhifu.iso8583.codec import decode, decode_frame, encode, field_offsets
from zhifu.iso8583.message import Message, numbers_in_bitmap
from zhifu.iso8583.profiles import CUP, get_profile

SIGN_ON = bytes.fromhex(
    "0800" "0020000000C00012" "000001" "3232303033363030" "313034353132353431313130303031"
    "0011" "000000000030" "0003" "303031"
)  # fmt: skip
FRAMED = bytes.fromhex("00406006010000613100311108") + SIGN_ON


def test_decode_sign_on_request() -> None:
    message = decode(SIGN_ON)
    assert message.mti == "0800"
    assert message.fields == {
        "11": "000001",
        "41": "22003600",
        "42": "104512541110001",
        "60": "00000000003",
        "63": "001",
    }
    assert message.pads == {}
    assert encode(message) == SIGN_ON


@pytest.mark.parametrize(
    ("value", "wire", "profile"),
    [
        ("051", "0510", "cup"),  # F22 left-aligned (docs/standards/iso8583-cup.md §2)
        ("071", "0710", "cup-strict"),
    ],
)
def test_field_22_is_left_aligned(value: str, wire: str, profile: str) -> None:
    raw = encode(Message("0200", {"22": value}), profile)
    assert raw[10:].hex() == wire
    assert decode(raw, profile)["22"] == value


@pytest.mark.parametrize(("profile", "wire"), [("cup", "0001"), ("cup-f23-left", "0010")])
def test_field_23_alignment_per_profile(profile: str, wire: str) -> None:
    raw = encode(Message("0200", {"23": "001"}), profile)
    assert raw[10:].hex() == wire
    assert decode(raw, profile)["23"] == "001"


@pytest.mark.parametrize(
    ("profile", "pan_wire"),
    [("cup", "1962258812345667891230"), ("cup-pad-f", "196225881234566789123F")],
)
def test_odd_pan_padded_per_profile(profile: str, pan_wire: str) -> None:
    raw = encode(Message("0200", {"2": "6225881234566789123"}), profile)
    assert raw[10:].hex().upper() == pan_wire.upper()


def test_decoder_accepts_any_pad_and_keeps_it() -> None:
    """docs/standards/iso8583-cup.md §2: J8 pads with F, SD with 0 -- the decoder accepts both."""
    raw = bytes.fromhex("02004000000000000000196225881234566789123F")
    message = decode(raw)  # profile cup expects 0
    assert message["2"] == "6225881234566789123"
    assert message.pads == {"2": "F"}
    assert encode(message) == raw
    assert encode(Message("0200", {"2": message["2"]})) != raw  # without the pad kept: 0


def test_unusual_pad_of_odd_fixed_field_kept() -> None:
    raw = bytes.fromhex("02000000040000000000051F")
    message = decode(raw)
    assert message["22"] == "051" and message.pads == {"22": "F"}
    assert encode(message) == raw


def test_several_unusual_pads() -> None:
    raw = bytes.fromhex(
        "0200" "4000000020000000" "19" "6225881234566789123F"
        "37" "6225881234566789123D25122011234567890F"
    )  # fmt: skip
    message = decode(raw)
    assert message.pads == {"2": "F", "35": "F"}
    assert encode(message) == raw


def test_sm_profile_takes_a_16_byte_pin_block() -> None:
    block = "00112233445566778899AABBCCDDEEFF"
    raw = encode(Message("0200", {"52": block}), "cup-sm")
    assert decode(raw, "cup-sm")["52"] == block
    with pytest.raises(EncodeError, match="field 52"):
        encode(Message("0200", {"52": block}))


def test_track_equals_sign_becomes_d() -> None:
    raw = encode(Message("0200", {"35": "6225881234566789=2512201"}))
    assert decode(raw)["35"] == "6225881234566789D2512201"


# ------------------------------------------------------------------------------------ errors


def test_stray_field_is_refused_before_reading() -> None:
    raw = bytes.fromhex("02000400000000000000123456")  # field 6
    with pytest.raises(DecodeError) as info:
        decode(raw)
    assert (info.value.field, info.value.offset) == ("6", 2)


def test_secondary_bitmap_is_refused() -> None:
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex("02008000000000000000" + "00" * 8))
    assert info.value.field == "1"


@pytest.mark.parametrize(
    ("raw", "field", "offset"),
    [
        ("", "mti", 0),
        ("02", "mti", 0),
        ("0A00" + "00" * 8, "mti", 0),
        ("0200" + "00" * 7, "bitmap", 2),
        ("020020000000000000000000", "3", 10),
        ("020040000000000000001A" + "00" * 10, "2", 10),  # length not BCD
        ("0200400000000000000020" + "00" * 10, "2", 10),  # 20 digits > 19
        ("0200400000000000000019" + "00" * 5, "2", 11),  # truncated
        ("020020000000000000000000AB", "3", 10),  # non-digit nibbles
        ("0200000000000000000000", None, 10),  # extra bytes
        ("020000000000002000003132", "43", 2),  # field 43 not in the dialect
    ],
)
def test_decode_errors_name_field_and_offset(raw: str, field: str | None, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex(raw))
    assert info.value.field == field
    assert info.value.offset == offset


def test_decode_frame_offsets_are_absolute() -> None:
    broken = FRAMED[:-1]
    broken = (len(broken) - 2).to_bytes(2, "big") + broken[2:]
    with pytest.raises(DecodeError) as info:
        decode_frame(broken)
    assert info.value.field == "63"
    assert info.value.offset == 13 + 46


def test_decode_error_hides_the_data() -> None:
    pan = "6225881234566789"
    raw = bytes.fromhex("0200400000000000000016" + pan + "0200")  # extra bytes
    with pytest.raises(DecodeError) as info:
        decode(raw)
    assert pan not in str(info.value) and pan not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (Message("02000", {}), "mti"),
        (Message("0200", {"5": "1"}), "5"),
        (Message("0200", {"4": "12"}), "4"),
        (Message("0200", {"4": "00000000000A"}), "4"),
        (Message("0200", {"2": "1" * 20}), "2"),
        (Message("0200", {"22": "05"}), "22"),
        (Message("0200", {"22": "0A1"}), "22"),
        (Message("0200", {"35": "62258812345G"}), "35"),
        (Message("0200", {"41": "123"}), "41"),
        (Message("0200", {"52": "XYZ"}), "52"),
        (Message("0200", {"4": 100}), "4"),  # type: ignore[dict-item]
        (Message("0200", {"41": b"12345678"}), "41"),  # type: ignore[dict-item]
        (Message("0200", {"63": "€" * 3}), "63"),
    ],
)
def test_encode_errors_name_the_field(message: Message, field: str) -> None:
    with pytest.raises(EncodeError) as info:
        encode(message)
    assert info.value.field == field


def test_encode_never_mutates_the_message() -> None:
    message = Message("0200", {"2": "6225881234566789123", "22": "051", "64": "00" * 8})
    message.pads["2"] = "F"
    before = copy.deepcopy(message)
    encode(message)
    assert message == before


def test_decode_and_encode_match_plain_pyiso8583() -> None:
    """Differential: pyiso8583 on the profile's spec reads the same bytes to the same strings."""
    message = decode(SIGN_ON)
    plain, _ = iso8583.decode(SIGN_ON, CUP.default_spec)
    assert {k: v for k, v in plain.items() if k not in ("t", "p")} == message.fields
    assert bytes(iso8583.encode(plain, CUP.default_spec)[0]) == SIGN_ON


def test_field_offsets() -> None:
    _, doc_enc = iso8583.decode(SIGN_ON, CUP.default_spec)
    offsets = field_offsets(doc_enc)
    assert offsets["11"] == 10 and offsets["41"] == 13 and offsets["63"] == 44


def test_message_helpers() -> None:
    message = decode(SIGN_ON)
    assert list(message) == ["11", "41", "42", "60", "63"]
    assert message.bitmap == "0020000000C00012"
    assert numbers_in_bitmap(bytes.fromhex(message.bitmap)) == message.numbers
    assert "41" in message and message.get("39") is None
    assert "22003600" not in repr(message)
    reply = message.replace({"39": "00", "63": None}, mti="0810")
    assert reply.mti == "0810" and "63" not in reply and message["63"] == "001"
    assert message.copy() == message and message.copy() is not message


def test_profiles_share_the_dictionary() -> None:
    assert get_profile() is CUP
    assert get_profile(CUP) is CUP
    assert CUP.spec("60").max_len == 999
    assert get_profile("cup-strict").spec("60").max_len == 17
