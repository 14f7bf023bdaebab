"""BER-TLV and DOL codec: docs/standards/card-terminal.md §1.2 vectors, malformed input, round
trips, fuzzing."""

from __future__ import annotations

import json
import pickle
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyemv import tlv as pyemv_tlv

from zhifu.codec.tlv import (
    MAX_DEPTH,
    Tlv,
    build_dol_data,
    decode,
    describe,
    encode,
    encode_length,
    encode_tag,
    find,
    parse_dol,
    render_tree,
    split_dol_data,
    tlv,
    to_dict,
)
from zhifu.core.errors import DecodeError, UsageError

# docs/standards/card-terminal.md §1.2: "Real-world PPSE FCI from a public perso script" [S].
PPSE_FCI = (
    "6F31840E325041592E5359532E4444463031A51FBF0C1C611A4F08A000000333010101"
    "500B50424F4320437265646974870101"
)
PDOL_1_2 = "9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6001"
# docs/standards/card-terminal.md §1.2: "Real PBOC debit application FCI captured from a card" [S].
DEBIT_FCI = (
    "6F608408A000000333010101A554500A50424F43204445424954870101"
    "9F381B" + PDOL_1_2 + "5F2D027A689F1101019F120A50424F43204445424954"
    "BF0C0E9F4D020B0ADF4D020C0ADF610102"
)
# docs/standards/card-terminal.md §1.9 record SFI 1 rec 1 style: template 70 with track 2 equivalent
# and PAN.
RECORD = (
    "702F5A0862280001000011175711"
    "6228000100001117D30122010123456789"
    "5F200F46554C4C2046554E4354494F4E414C"
)


# ------------------------------------------------------------------------------ vectors


def test_ppse_fci_parses() -> None:  # docs/standards/card-terminal.md §1.2
    [fci] = decode(bytes.fromhex(PPSE_FCI))
    assert fci.tag == 0x6F and fci.constructed
    assert fci.find(0x84).value == b"2PAY.SYS.DDF01"  # type: ignore[union-attr]
    app = fci.find("61")
    assert app is not None
    assert [c.tag_hex for c in app.children] == ["4F", "50", "87"]
    assert app.find(0x4F).value.hex().upper() == "A000000333010101"  # type: ignore[union-attr]
    assert app.find(0x50).value == b"PBOC Credit"  # type: ignore[union-attr]
    assert encode([fci]).hex().upper() == PPSE_FCI


def test_debit_fci_parses_and_its_pdol_has_10_entries_of_34_bytes() -> None:  # 1.2
    [fci] = decode(bytes.fromhex(DEBIT_FCI))
    values = to_dict([fci])
    assert values["84"].hex().upper() == "A000000333010101"
    assert values["50"] == values["9F12"] == b"PBOC DEBIT"
    assert values["9F4D"] == bytes.fromhex("0B0A")  # transaction log: SFI 11, 10 records
    assert values["DF4D"] == bytes.fromhex("0C0A")  # load log: SFI 12, 10 records
    assert values["5F2D"] == b"zh"
    pdol = parse_dol(values["9F38"])
    assert [hex(tag) for tag, _ in pdol] == [
        "0x9f66", "0x9f02", "0x9f03", "0x9f1a", "0x95", "0x5f2a", "0x9a", "0x9c", "0x9f37",
        "0xdf60",
    ]  # fmt: skip
    assert len(pdol) == 10
    assert sum(length for _, length in pdol) == 34
    assert len(build_dol_data(values["9F38"], {})) == 34
    assert fci.encode().hex().upper() == DEBIT_FCI


def test_nested_find_and_to_dict_first_occurrence_wins() -> None:
    items = [
        tlv("70", [tlv("5A", b"\x01"), tlv("A5", [tlv("5A", b"\x02"), tlv("9F36", b"\x00\x01")])]),
        tlv("5A", b"\x03"),
    ]
    assert find(items, 0x5A).value == b"\x01"  # type: ignore[union-attr]
    assert to_dict(items) == {"5A": b"\x01", "9F36": b"\x00\x01"}
    assert [t.value for t in items[0].find_all("5A")] == [b"\x01", b"\x02"]
    assert find(items, 0x9F02) is None


# ------------------------------------------------------------------------------ tags, lengths


@pytest.mark.parametrize(
    ("tag", "expected"),
    [(0x5A, "5A"), (0x9F02, "9F02"), (0xBF0C, "BF0C"), (0xDF8101, "DF8101"), (0x1F8101, "1F8101")],
)
def test_encode_tag(tag: int, expected: str) -> None:
    assert encode_tag(tag).hex().upper() == expected


@pytest.mark.parametrize("tag", [0, -1, 0x1F, 0x9F, 0x5A01, 0x9F8001 + 0x80, 0x9F818181, 1 << 40])
def test_encode_tag_refuses_malformed_tags(tag: int) -> None:
    with pytest.raises(UsageError) as info:
        encode_tag(tag)
    assert info.value.argument == "tag"


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (0, "00"),
        (0x7F, "7F"),
        (0x80, "8180"),
        (0xFF, "81FF"),
        (0x100, "820100"),
        (0x10000, "83010000"),
        (0x1000000, "8401000000"),
        (0xFFFFFFFF, "84FFFFFFFF"),
    ],
)
def test_encode_length(length: int, expected: str) -> None:
    assert encode_length(length).hex().upper() == expected


def test_encode_length_refuses_out_of_range() -> None:
    for n in (-1, 1 << 32):
        with pytest.raises(UsageError):
            encode_length(n)


def test_long_form_lengths_decode() -> None:
    value = bytes(300)
    [item] = decode(b"\x9f\x10\x82\x01\x2c" + value)
    assert item.value == value
    # Non-minimal length forms are accepted (EMV allows 81 xx for xx < 128).
    assert decode(bytes.fromhex("5A810212AB"))[0].value == b"\x12\xab"


def test_padding_between_objects_is_skipped() -> None:
    items = decode(bytes.fromhex("005A0112FF00FF9F360200017000FF"))
    assert [(t.tag_hex, t.value.hex()) for t in items] == [
        ("5A", "12"),
        ("9F36", "0001"),
        ("70", ""),
    ]


# ------------------------------------------------------------------------------ malformed input

MALFORMED = [
    # (input hex, field, offset, reason fragment)
    ("9F", "tag", 0, "truncated tag"),
    ("5A0112" + "9F", "tag", 3, "truncated tag"),
    ("9F81818101", "tag", 0, "longer than 4 bytes"),
    ("5A", "5A", 1, "missing length"),
    ("9F0281", "9F02", 2, "truncated length"),
    ("9F02820100", "9F02", 0, "runs past the data"),
    ("9F028500000000010000", "9F02", 2, "at most 5"),
    ("5A80", "5A", 1, "indefinite"),
    ("9F0206000000", "9F02", 0, "runs past the data"),
    ("70035A0512", "5A", 2, "length 5 runs past the data (1 left)"),
    ("6F03A5019F", "tag", 4, "truncated tag"),
]


@pytest.mark.parametrize(("data", "field", "offset", "reason"), MALFORMED)
def test_malformed_input_raises_decode_error_with_tag_and_offset(
    data: str, field: str, offset: int, reason: str
) -> None:
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex(data))
    assert (info.value.field, info.value.offset) == (field, offset)
    assert reason in info.value.reason


def test_offset_base_shifts_offsets() -> None:
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex("70035A0512"), offset_base=100)
    assert info.value.offset == 102


def test_decode_error_never_holds_the_input_and_pickles() -> None:
    pan = "6228000100001117"
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex("5A09" + pan))
    assert pan not in str(info.value)
    assert pickle.loads(pickle.dumps(info.value)).field == "5A"


def _nested(depth: int) -> bytes:
    data = b""
    for _ in range(depth):
        data = b"\x70" + encode_length(len(data)) + data if data else b"\x70\x00"
    return data


def test_deep_nesting_raises_decode_error_not_recursion_error() -> None:
    data = _nested(1200)  # pyemv raised RecursionError here (docs/standards/style.md §1)
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert "deeper than 16" in info.value.reason
    assert info.value.field == "70"


def test_nesting_up_to_max_depth_is_fine() -> None:
    items = decode(_nested(MAX_DEPTH))
    depth = 0
    node: Tlv | None = items[0]
    while node is not None:
        depth += 1
        node = node.children[0] if node.children else None
    assert depth == MAX_DEPTH
    with pytest.raises(DecodeError):
        decode(_nested(MAX_DEPTH + 1))
    assert decode(_nested(20), max_depth=20)
    with pytest.raises(UsageError):
        decode(b"", max_depth=0)


# ------------------------------------------------------------------------------ objects


def test_tlv_helper_builds_primitive_and_constructed() -> None:
    record = tlv("70", [tlv("5A", bytes.fromhex("6228000100001117")), tlv(0x5F34, b"\x01")])
    assert record.constructed and record.value == encode(record.children)
    assert record.encode().hex().upper() == "700E5A0862280001000011175F340101"
    assert tlv("70", record.value) == record  # bytes for a constructed tag are decoded
    assert Tlv(0x9F02, b"\x00" * 6).tag_hex == "9F02"
    assert not Tlv(0x9F02).constructed and Tlv(0xBF0C).constructed
    assert Tlv(0x9F79).name == "Electronic Cash Balance"


def test_tlv_refuses_bad_tags_and_primitive_children() -> None:
    with pytest.raises(UsageError) as info:
        Tlv(0x5A, children=(Tlv(0x5A),))
    assert info.value.argument == "children"
    with pytest.raises(UsageError):
        Tlv(0x1F)
    with pytest.raises(UsageError):
        tlv("zz", b"")


# ------------------------------------------------------------------------------ DOL


def test_build_dol_data_follows_emv_book3_5_4() -> None:
    dol = bytes.fromhex("9F0204" + "9F0208" + "5A0A" + "5A04" + "9F3702" + "9F3706" + "A502")
    values = {
        0x9F02: bytes.fromhex("000000001234"),  # n: cut and padded on the left
        0x5A: bytes.fromhex("622800010000111F"),  # cn: padded with F on the right
        0x9F37: bytes.fromhex("11223344"),  # b: cut and padded on the right
        0xA5: b"\x01\x02",  # constructed: zeros
    }
    data = build_dol_data(dol, values).hex().upper()
    assert data == (
        "00001234" + "0000000000001234" + "622800010000111FFFFF" + "62280001" + "1122"
        "112233440000" + "0000"
    )


def test_build_dol_data_missing_and_unknown_tags() -> None:
    dol = bytes.fromhex("9F7A01DF8101039F6604")
    data = build_dol_data(dol, {0xDF8101: b"\xab"})
    assert data.hex().upper() == "00" + "AB0000" + "00000000"


def test_split_dol_data_round_trip_and_errors() -> None:
    pdol = bytes.fromhex(PDOL_1_2)
    values = {0x9F02: bytes.fromhex("000000000100"), 0x5F2A: b"\x01\x56", 0xDF60: b"\x01"}
    data = build_dol_data(pdol, values)
    split = split_dol_data(pdol, data)
    assert split[0x9F02] == values[0x9F02] and split[0x5F2A] == values[0x5F2A]
    assert split[0x9F66] == bytes(4)
    with pytest.raises(DecodeError):
        split_dol_data(pdol, data[:-1])


@pytest.mark.parametrize(("dol", "field", "offset"), [("9F", "tag", 0), ("9F02", "9F02", 2)])
def test_parse_dol_malformed(dol: str, field: str, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        parse_dol(bytes.fromhex(dol))
    assert (info.value.field, info.value.offset) == (field, offset)


# ------------------------------------------------------------------------------ printing


def test_render_tree_masks_pan_track2_and_name_by_default() -> None:
    items = decode(bytes.fromhex(RECORD))
    text = render_tree(items)
    assert "6228000100001117" not in text and "FULL" not in text
    assert "5A Application Primary Account Number (PAN) [8] 622800******1117" in text
    assert "57 Track 2 Equivalent Data [17] 622800******1117D*****************" in text
    assert "5F20 Cardholder Name [15] " + "*" * 30 in text
    revealed = render_tree(items, reveal=True)
    assert "6228000100001117D30122010123456789" in revealed
    assert text.splitlines()[0] == "70 READ RECORD Response Message Template"
    assert text.splitlines()[1].startswith("  5A ")


def test_describe_is_json_ready_and_shows_text_of_an_fields() -> None:
    tree = describe(decode(bytes.fromhex(PPSE_FCI)))
    json.dumps(tree)
    label = tree[0]["children"][1]["children"][0]["children"][0]["children"][1]
    assert label == {
        "tag": "50",
        "name": "Application Label",
        "length": 11,
        "value": "50424F4320437265646974",
        "text": "PBOC Credit",
    }


def test_pboc_card_cvm_limit_9f6b_is_not_masked_but_track2_form_is() -> None:
    cvm_limit = describe([tlv("9F6B", bytes.fromhex("000000000500"))])
    assert cvm_limit[0]["value"] == "000000000500"
    track2 = describe([tlv("9F6B", bytes.fromhex("6228000100001117D3012201"))])
    assert track2[0]["value"] == "622800******1117D*******"


# ------------------------------------------------------------------------------ properties

_PRIMITIVE_TAGS = st.sampled_from([0x5A, 0x57, 0x82, 0x9F02, 0x9F10, 0x9F79, 0xDF61, 0x1F8101])
_CONSTRUCTED_TAGS = st.sampled_from([0x70, 0x77, 0x6F, 0xA5, 0xBF0C, 0x61, 0x3F8101])


def _trees(max_leaves: int = 20) -> st.SearchStrategy[Tlv]:
    leaves = st.builds(Tlv, _PRIMITIVE_TAGS, st.binary(max_size=300))
    return st.recursive(
        leaves,
        lambda kids: st.builds(
            tlv,
            _CONSTRUCTED_TAGS,
            st.lists(kids, max_size=4),
        ),
        max_leaves=max_leaves,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_trees(), max_size=4))
def test_round_trip(items: list[Tlv]) -> None:
    data = encode(items)
    assert decode(data, max_depth=64) == items
    assert encode(decode(data, max_depth=64)) == data


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([0x5A, 0x82, 0x9F02, 0x9F10, 0x9F79, 0xDF61, 0x95]),
        st.binary(max_size=200),
        min_size=1,
    )
)
def test_flat_decode_agrees_with_pyemv(values: dict[int, bytes]) -> None:
    data = encode([tlv("70", [Tlv(tag, value) for tag, value in values.items()])])
    ours = to_dict(decode(data))
    theirs = pyemv_tlv.decode(data, flatten=True)
    assert ours == {k: bytes(v) for k, v in theirs.items()}


# ------------------------------------------------------------------------------ fuzzing
# Random and mutated bytes into decode and parse_dol give only DecodeError (10,000
# cases for each decoder; one hypothesis run feeds both to keep the suite fast).

_CORPUS = [bytes.fromhex(h) for h in (PPSE_FCI, DEBIT_FCI, RECORD, PDOL_1_2)]


def mutate(data: bytes, seed: int) -> bytes:
    """Flip, insert, delete or cut a few bytes, driven by ``seed``."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(out))
        kind = rng.choice(("flip", "insert", "delete", "truncate"))
        if kind == "flip" and pos < len(out):
            out[pos] = rng.randrange(256)
        elif kind == "insert":
            out[pos:pos] = rng.randbytes(rng.randint(1, 4))
        elif kind == "delete":
            del out[pos : pos + rng.randint(1, 4)]
        else:
            del out[pos:]
    return bytes(out)


FUZZ_INPUT = st.one_of(
    st.binary(max_size=64),
    st.builds(mutate, st.sampled_from(_CORPUS), st.integers(0, 2**32)),
)


def _check_decode(data: bytes) -> None:
    try:
        items = decode(data)
    except DecodeError as error:
        assert error.field is not None and error.offset is not None
        assert 0 <= error.offset <= len(data)
        return
    render_tree(items)
    to_dict(items)


def _check_dol(dol: bytes) -> None:
    try:
        entries = parse_dol(dol)
    except DecodeError as error:
        assert error.field is not None and error.offset is not None
        return
    data = build_dol_data(dol, {0x9F02: dol, 0x5A: dol, 0x9F37: dol})
    assert len(data) == sum(n for _, n in entries)
    split_dol_data(dol, data)


@settings(max_examples=10_000, deadline=None)
@given(FUZZ_INPUT)
def test_fuzz_decode_and_parse_dol_raise_only_decode_error(data: bytes) -> None:
    _check_decode(data)
    _check_dol(data)


def test_mutate_changes_the_input() -> None:
    assert all(mutate(_CORPUS[0], seed) != _CORPUS[0] for seed in range(50))
