"""APDUs (ISO/IEC 7816-4 short form), the status-word table and T=0 exchanges."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.card.apdu import (
    MAX_T0_ROUNDS,
    STATUS_WORDS,
    CommandApdu,
    ResponseApdu,
    StatusWord,
    describe_sw,
    more_data,
    transmit_t0,
    tries_left,
    wrong_le,
)
from zhifu.core.errors import DecodeError, UsageError

# (source, hex, cla, ins, p1, p2, data hex, le, case) — commands of docs/standards/card-terminal.md
# §1.3.
COMMANDS = [
    ("SELECT PPSE", "00A404000E325041592E5359532E444446303100", 0x00, 0xA4, 0x04, 0x00,
     "325041592E5359532E4444463031", 256, 4),
    ("GPO without PDOL", "80A8000002830000", 0x80, 0xA8, 0, 0, "8300", 256, 4),
    ("READ RECORD SFI 1 rec 1", "00B2010C00", 0x00, 0xB2, 0x01, 0x0C, "", 256, 2),
    ("GET DATA 9F79", "80CA9F7900", 0x80, 0xCA, 0x9F, 0x79, "", 256, 2),
    ("GET CHALLENGE Le 08", "0084000008", 0x00, 0x84, 0, 0, "", 8, 2),
    ("VERIFY plaintext PIN", "0020008008241234FFFFFFFFFF", 0x00, 0x20, 0x00, 0x80,
     "241234FFFFFFFFFF", None, 3),
    ("APPLICATION BLOCK", "841E000004AABBCCDD", 0x84, 0x1E, 0, 0, "AABBCCDD", None, 3),
    ("header only", "00A40400", 0x00, 0xA4, 0x04, 0x00, "", None, 1),
]  # fmt: skip


@pytest.mark.parametrize("vector", COMMANDS, ids=lambda v: v[0] if isinstance(v, tuple) else "")
def test_command_encode_and_decode(vector: tuple[object, ...]) -> None:
    source, apdu, cla, ins, p1, p2, data, le, case = vector
    assert isinstance(apdu, str) and isinstance(data, str)
    command = CommandApdu(cla, ins, p1, p2, bytes.fromhex(data), le)  # type: ignore[arg-type]
    assert command.encode().hex().upper() == apdu, source
    assert CommandApdu.decode(bytes.fromhex(apdu)) == command
    assert command.case == case


def test_le_zero_means_256() -> None:
    assert CommandApdu(0, 0xB2, 1, 0x0C, le=0) == CommandApdu(0, 0xB2, 1, 0x0C, le=256)
    assert CommandApdu(0, 0xB2, 1, 0x0C, le=0).encode()[-1] == 0


@pytest.mark.parametrize(
    ("apdu", "field", "offset", "reason"),
    [
        ("", "header", 0, "needs 4"),
        ("00A404", "header", 0, "needs 4"),
        ("00A4040000000E", "Lc", 4, "extended"),
        ("00A404000E3250", "Lc", 4, "does not match"),
        ("00A4040002AABBCCDD", "Lc", 4, "does not match"),
    ],
)
def test_command_decode_errors(apdu: str, field: str, offset: int, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        CommandApdu.decode(bytes.fromhex(apdu))
    assert (info.value.field, info.value.offset) == (field, offset)
    assert reason in info.value.reason


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"cla": 256}, "cla"),
        ({"ins": -1}, "ins"),
        ({"p2": 300}, "p2"),
        ({"data": bytes(256)}, "data"),
        ({"le": 257}, "le"),
    ],
)
def test_command_refuses_bad_fields(kwargs: dict[str, object], argument: str) -> None:
    fields: dict[str, object] = {"cla": 0, "ins": 0xA4, "p1": 4, "p2": 0, **kwargs}
    with pytest.raises(UsageError) as info:
        CommandApdu(**fields)  # type: ignore[arg-type]
    assert info.value.argument == argument


def test_repr_shows_lengths_not_data() -> None:
    verify = CommandApdu.decode(bytes.fromhex("0020008008241234FFFFFFFFFF"))
    assert "241234" not in repr(verify) and "<8 bytes>" in repr(verify)
    response = ResponseApdu(bytes.fromhex("5A086228000100001117"), 0x90, 0x00)
    assert repr(response) == "ResponseApdu(data=<10 bytes>, sw=9000)"


def test_response_apdu() -> None:
    response = ResponseApdu.decode(bytes.fromhex("9F7906000000001000" + "9000"))
    assert response.sw == StatusWord.OK == 0x9000 and response.sw_hex == "9000" and response.ok
    assert response.data == bytes.fromhex("9F7906000000001000")
    assert response.encode().hex().upper() == "9F79060000000010009000"
    assert ResponseApdu.from_sw(0x6A82) == ResponseApdu(b"", 0x6A, 0x82)
    assert not ResponseApdu.from_sw(0x6A82).ok
    for bad in (b"", b"\x90"):
        with pytest.raises(DecodeError) as info:
            ResponseApdu.decode(bad)
        assert info.value.field == "SW"
    with pytest.raises(UsageError):
        ResponseApdu.from_sw(0x10000)


# ------------------------------------------------------------------------------ status words

# docs/standards/card-terminal.md §1.3 "Status words to implement".
SPEC_STATUS_WORDS = (  # noqa: SIM905
    "9000 61XX 6CXX 6283 6300 63CX 6581 6700 6982 6983 6984 6985 6986 6988 6A80 6A81 6A82 6A83 "
    "6A86 6A88 6D00 6E00"
).split()


def test_status_word_table() -> None:
    assert set(SPEC_STATUS_WORDS) <= set(STATUS_WORDS)
    for pattern, (english, chinese) in STATUS_WORDS.items():
        assert re.fullmatch(r"[0-9A-F]{2}([0-9A-F]{2}|XX|[0-9A-F]X)", pattern), pattern
        assert english and chinese and english != chinese
        assert ("{n}" in english) == ("X" in pattern) == ("{n}" in chinese)


@pytest.mark.parametrize(
    ("sw", "text"),
    [
        (0x9000, "9000: normal processing (正常处理)"),
        (0x6A82, "6A82: file or application not found (文件或应用未找到)"),
        (0x63C2, "63C2: verification failed, 2 tries left (验证失败，还可尝试 2 次)"),
        (0x6110, "6110: 16 response bytes still available (还有 16 字节响应数据)"),
        (0x6100, "6100: 256 response bytes still available (还有 256 字节响应数据)"),
        (0x6C08, "6C08: wrong Le, 8 bytes available (Le 错误，实际长度 8)"),
        (0x6988, "6988: secure messaging data objects incorrect (安全报文数据对象不正确)"),
        (0x9401, "9401: insufficient balance (金额不足)"),
        (0x1234, "1234: unknown status word (未知状态字)"),
    ],
)
def test_describe_sw(sw: int, text: str) -> None:
    assert describe_sw(sw) == text


def test_status_word_names_match_the_table() -> None:
    fixed = {pattern for pattern in STATUS_WORDS if "X" not in pattern}
    assert {f"{sw:04X}" for sw in StatusWord} == fixed
    assert len({sw.value for sw in StatusWord}) == len(StatusWord)  # no aliases
    assert all("unknown" not in describe_sw(sw) for sw in StatusWord)


@pytest.mark.parametrize(
    ("sw", "pattern", "expected"),
    [
        (more_data(0x10), "61XX", 0x6110),
        (more_data(256), "61XX", 0x6100),
        (wrong_le(8), "6CXX", 0x6C08),
        (tries_left(2), "63CX", 0x63C2),
        (tries_left(0), "63CX", 0x63C0),
        (tries_left(99), "63CX", 0x63CF),
    ],
)
def test_status_word_families(sw: int, pattern: str, expected: int) -> None:
    assert sw == expected and pattern in STATUS_WORDS
    assert "unknown" not in describe_sw(sw)


CARD_PACKAGE = Path(__file__).resolve().parents[3] / "src" / "zhifu" / "card"
# A status word written as a number or hex text: 0x6A82, "6A82", b"\x6a\x82", 0x63C0 | n...
SW_LITERAL = re.compile(
    r"0x(?:6[1-9A-F]|9[0-4])[0-9A-F]{2}\b|[\"'](?:6[1-9A-F]|90)[0-9A-F]{2}[\"']"
    r"|\\x(?:6[1-9a-f]|9[0-4])\\x[0-9a-f]{2}",
    re.IGNORECASE,
)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of ``path`` outside docstrings and comments (docs may quote status words)."""
    lines, in_doc = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        quotes = line.count('"""')
        if in_doc or quotes:
            if quotes == 1:
                in_doc = not in_doc
            continue
        lines.append((number, line.split("#", 1)[0]))
    return lines


def test_the_card_package_names_status_words_through_the_table() -> None:
    hits = [
        f"{path.relative_to(CARD_PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(CARD_PACKAGE.rglob("*.py"))
        if path.name != "apdu.py"
        for number, line in _code_lines(path)
        if SW_LITERAL.search(line)
    ]
    assert hits == []


def test_describe_sw_refuses_non_status_words() -> None:
    with pytest.raises(UsageError):
        describe_sw(0x10000)


# ------------------------------------------------------------------------------ T=0


class FakeT0Card:
    """Answers from a script and records what it was sent."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = [bytes.fromhex(a) for a in answers]
        self.sent: list[str] = []

    def __call__(self, apdu: bytes) -> bytes:
        self.sent.append(apdu.hex().upper())
        return self.answers.pop(0) if self.answers else bytes.fromhex("6F00")


def test_t0_follows_61xx_with_get_response_and_concatenates() -> None:
    card = FakeT0Card(["6105", "AABBCCDDEE6102", "11229000"])
    select = CommandApdu(0, 0xA4, 4, 0, bytes.fromhex("A000000333010101"))
    response = transmit_t0(card, select)
    assert response == ResponseApdu(bytes.fromhex("AABBCCDDEE1122"), 0x90, 0x00)
    assert card.sent == ["00A4040008A000000333010101", "00C0000005", "00C0000002"]


def test_t0_resends_on_6cxx_with_the_right_le() -> None:
    card = FakeT0Card(["6C08", "01020304050607089000"])
    response = transmit_t0(card, CommandApdu(0, 0x84, 0, 0, le=256))
    assert response.data == bytes(range(1, 9)) and response.ok
    assert card.sent == ["0084000000", "0084000008"]


def test_t0_passes_other_status_words_through() -> None:
    card = FakeT0Card(["6A82"])
    assert transmit_t0(card, CommandApdu(0, 0xA4, 4, 0, b"x")).sw == 0x6A82
    assert len(card.sent) == 1


def test_t0_is_bounded() -> None:
    card = FakeT0Card(["6101"] * 100)
    with pytest.raises(DecodeError) as info:
        transmit_t0(card, CommandApdu(0, 0xB2, 1, 0x0C, le=256))
    assert len(card.sent) == MAX_T0_ROUNDS
    assert info.value.field == "SW"


def test_t0_bad_response_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        transmit_t0(lambda apdu: b"\x90", CommandApdu(0, 0xB2, 1, 0x0C))


# ------------------------------------------------------------------------------ properties


_BYTE = st.integers(0, 255)
_COMMANDS = st.builds(
    CommandApdu,
    _BYTE,
    _BYTE,
    _BYTE,
    _BYTE,
    st.binary(max_size=255),
    st.none() | st.integers(1, 256),
)


@settings(max_examples=300)
@given(_COMMANDS)
def test_command_round_trip(command: CommandApdu) -> None:
    assert CommandApdu.decode(command.encode()) == command


# Random and mutated bytes give only DecodeError, and anything that decodes re-encodes to the
# same bytes (10,000 cases for each decoder in one hypothesis run).
_CORPUS = [bytes.fromhex(c[1]) for c in COMMANDS] + [bytes.fromhex("6F108408A0000003330101019000")]


def _mutate(data: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        pos = rng.randint(0, len(out))
        kind = rng.choice(("flip", "insert", "delete"))
        if kind == "flip" and pos < len(out):
            out[pos] = rng.randrange(256)
        elif kind == "insert":
            out[pos:pos] = rng.randbytes(rng.randint(1, 3))
        else:
            del out[pos : pos + rng.randint(1, 3)]
    return bytes(out)


@settings(max_examples=10_000, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(_mutate, st.sampled_from(_CORPUS), st.integers(0, 2**32)),
    )
)
def test_fuzz_command_and_response_decoders(data: bytes) -> None:
    for codec in (CommandApdu, ResponseApdu):
        try:
            decoded = codec.decode(data)
        except DecodeError as error:
            assert error.field is not None
            continue
        assert decoded.encode() == data
