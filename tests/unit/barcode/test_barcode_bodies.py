"""Strict decoding of the API's request bodies (zhifu.barcode.api.schemas.decode_strict): bytes
that are not UTF-8 and keys that appear twice are refused with a validation_error saying where;
whatever the bytes, only a Struct or that refusal comes out."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.schemas import (
    CloseRequest,
    CreateOrderRequest,
    MicropayRequest,
    RefundRequest,
    ResolveRequest,
    WalletPayRequest,
    decode_strict,
)

KINDS: list[type[Any]] = [
    MicropayRequest,
    CreateOrderRequest,
    CloseRequest,
    RefundRequest,
    ResolveRequest,
    WalletPayRequest,
]
MICROPAY = (
    b'{"merchant_id":"M1","out_trade_no":"T1","auth_code":"911234567010123456",'
    b'"amount":1234,"description":"\xe9\x9d\xa2\xe6\x9d\xa1"}'  # 面条
)


def refusal(body: bytes, kind: type[Any] = RefundRequest) -> str:
    with pytest.raises(BarcodeError) as caught:
        decode_strict(body, kind)
    assert caught.value.code == "validation_error"
    return caught.value.message


@pytest.mark.parametrize(
    ("body", "offset"),
    [
        (b'{"out_refund_no":"R\xff","amount":1}', 19),  # never in UTF-8
        (b'{"out_refund_no":"R\xc3","amount":1}', 19),  # a two-byte sequence cut short
        (b'{"out_refund_no":"\xc0\xaf","amount":1}', 18),  # an overlong '/'
        (b'{"out_refund_no":"\xed\xa0\x80","amount":1}', 18),  # a surrogate
        (b'{"out_refund_no":"R1","amount":1}\xf0\x9f\x98', 33),  # cut short at the end
        (b'{"\xa0":1}', 2),  # in a key
        (b"\x80", 0),
    ],
)
def test_bytes_that_are_not_utf8_are_refused_at_their_offset(body: bytes, offset: int) -> None:
    assert refusal(body) == f"invalid body: not UTF-8 at byte offset {offset}"


def test_text_in_utf8_is_decoded() -> None:
    assert decode_strict(MICROPAY, MicropayRequest).description == "面条"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"out_refund_no":"R1","amount":1,"amount":2}', "amount"),
        (b'{"out_refund_no":"R1","amount":1,"\\u0061mount":2}', "amount"),  # escaped
        (b'{"out_refund_no":"R1","out_refund_no":"R1","amount":1}', "out_refund_no"),  # same value
        (b'{"out_refund_no":"R1","amount":1,"reason":"","reason":"x"}', "reason"),
    ],
)
def test_a_key_twice_is_refused_naming_it(body: bytes, key: str) -> None:
    assert refusal(body) == f"invalid body {key}: the key appears more than once"


def test_a_key_twice_with_a_wrong_last_value_is_refused_too() -> None:
    assert "amount" in refusal(b'{"out_refund_no":"R1","amount":1,"amount":"2"}')


def test_an_empty_object_and_keys_that_differ_by_case() -> None:
    assert decode_strict(b"{}", CloseRequest) == CloseRequest()
    assert "unknown field" in refusal(b'{"out_refund_no":"R1","amount":1,"Amount":2}')


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=160), st.sampled_from(KINDS))
def test_any_bytes_give_a_struct_or_a_validation_error(body: bytes, kind: type[Any]) -> None:
    try:
        found = decode_strict(body, kind)
    except BarcodeError as exc:
        assert exc.code == "validation_error"
    else:
        assert isinstance(found, kind)


def test_mutated_bodies_give_a_struct_or_a_validation_error() -> None:
    rng = random.Random(20261125)
    for _ in range(3_000):
        body = bytearray(MICROPAY)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(body))
            if rng.random() < 0.5:
                body[at] = rng.randrange(256)
            else:
                body[at:at] = body[rng.randrange(len(body)) :][: rng.randint(1, 12)]
        try:
            found = decode_strict(bytes(body), MicropayRequest)
        except BarcodeError as exc:
            assert exc.code == "validation_error"
        else:  # accepted: then it is exactly what a last-wins-free parser reads
            assert json.loads(bytes(body))["amount"] == found.amount
