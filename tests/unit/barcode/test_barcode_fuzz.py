"""Fuzzing (docs/standards/security.md R27 "parsers never crash"): random and mutated input into
parse_mpm, the CPM decoder, classify and decode_image gives only deviations or typed errors.

The mutation loops are seeded (2,000 cases each, fewer for images) so a failure reproduces;
hypothesis adds structure-aware cases at modest example counts."""

from __future__ import annotations

import base64
import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.barcode import classify, classify_url
from zhifu.barcode.codes.collection_code import CollectionCode, Refusal
from zhifu.barcode.codes.cpm import decode_cpm
from zhifu.barcode.codes.emvqr.mpm import DeviationCode, ParseResult, parse_mpm
from zhifu.barcode.codes.render import decode_image, render_png
from zhifu.core.errors import DecodeError

ALPHABET = "0123456789" * 6 + "ABCDEF.* 最佳运输𠀀é\x00\n"
C2_BYTES = base64.b64decode(
    "hQVDUFYwMWETTwegAAAAVVVVUAhQcm9kdWN0MWETTwegAAAAZmZmUAhQcm9kdWN0MmJJWggSNFZ4kBI0WF8gDkNB"
    "UkRIT0xERVIvRU1WXy0IcnVlc2RlZW5kIZ8QBwYBCgMAAACfJghYT9OF+iNLzJ82AgABnzcEbVjvEw=="
)


def _check_parse(payload: str | bytes) -> ParseResult:
    result = parse_mpm(payload)
    text = result.payload
    for dev in result.deviations:
        assert isinstance(dev.code, DeviationCode)
        assert dev.offset is None or 0 <= dev.offset <= len(text)
    stack = list(result.tree)
    while stack:
        obj = stack.pop()
        assert text.startswith(obj.id, obj.offset) and obj.value in text
        stack.extend(obj.children or ())
    return result


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op == 1:
            chars.insert(pos, rng.choice(ALPHABET))
        elif op == 2 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(ALPHABET)
        else:
            chars = chars[:pos]
    return "".join(chars)


def test_mutated_mpm_payloads(m1: str, m5: str) -> None:
    rng = random.Random(20261125)
    for i in range(2000):
        payload = _mutate(rng, m1 if i % 2 else m5)
        _check_parse(payload)
        classify(payload)


def test_random_text_and_bytes_into_parse_mpm() -> None:
    rng = random.Random(6)
    for i in range(2000):
        size = rng.randrange(0, 300)
        if i % 2:
            _check_parse(bytes(rng.randrange(256) for _ in range(size)))
        else:
            _check_parse("".join(rng.choice(ALPHABET) for _ in range(size)))


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.text(st.characters(exclude_categories=()), max_size=60),  # lone surrogates too
        st.binary(max_size=300),
    )
)
def test_hypothesis_into_parse_mpm(payload: str | bytes) -> None:
    _check_parse(payload)


def _cpm_or_error(text: str) -> None:
    with contextlib.suppress(DecodeError):
        decode_cpm(text)


def test_mutated_cpm_payloads() -> None:
    rng = random.Random(61)
    for _ in range(2000):
        data = bytearray(C2_BYTES)
        for _ in range(rng.randint(1, 4)):
            if not data:
                break
            op, pos = rng.randrange(3), rng.randrange(len(data))
            if op == 0:
                data[pos] = rng.randrange(256)
            elif op == 1:
                del data[pos:]
            else:
                data.insert(pos, rng.choice((0x00, 0x1F, 0x20, 0x7F, 0x81, 0x82, 0xFF)))
        text = base64.b64encode(bytes(data)).decode()
        _cpm_or_error(text)
        classify(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.text(max_size=40))
def test_random_cpm_payloads(data: bytes, junk: str) -> None:
    _cpm_or_error("hQVDUFY" + base64.b64encode(b"\x05CPV01" + data).decode()[1:])
    _cpm_or_error("hQVDUFY" + junk)
    _cpm_or_error(base64.b64encode(b"\x85\x05CPV01" + data).decode())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_random_urls_and_codes(text: str) -> None:
    for candidate in (text, "https://" + text, "wxp://" + text):
        assert isinstance(classify_url(candidate), CollectionCode | Refusal)
        classify(candidate)


def test_random_and_mutated_images(m1: str) -> None:
    rng = random.Random(1225)
    png = render_png(m1, scale=2)
    for i in range(150):
        if i % 3 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        else:
            mutated = bytearray(png)
            for _ in range(rng.randint(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            data = bytes(mutated[: rng.randrange(8, len(mutated) + 1)])
        try:
            texts = decode_image(data)
        except DecodeError:
            continue
        assert all(isinstance(t, str) for t in texts)
