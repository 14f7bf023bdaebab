"""Over HTTP, on the served app and on the Litestar app: what outside testers sent by hand and
with schemathesis. A body that is not UTF-8 is a 400 naming the byte offset (it was a 500 with a
traceback); a request refused before its Idempotency-Key still uses up its nonce (it could be
sent again with the header added); a JSON object with a key twice is refused naming the key
(the last one won)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from zhifu.barcode.api.client import ApiClient, ApiResponse

if TYPE_CHECKING:
    from .conftest import Stack


def assert_refused(response: ApiResponse, status: int, code: str) -> str:
    assert (response.status, response.error_code) == (status, code), response.body
    return str(response.json()["error"]["message"])


def signed_post(client: ApiClient, path: str, body: bytes, key: str | None) -> ApiResponse:
    return client.post(path, body, idempotency_key=key)


# -- bodies that are not UTF-8 -----------------------------------------------------------------


def _routes(stack: Stack) -> list[tuple[ApiClient, str, bytes]]:
    """Every signed POST route with a body holding a byte that is not UTF-8 in a string."""
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    paid = client.post(
        "/v1/micropay",
        {"merchant_id": merchant, "out_trade_no": stack.next("U"), "amount": 500,
         "auth_code": phone.next_code()},
        idempotency_key=stack.next("U"),
    ).json()  # fmt: skip
    created = client.post(
        "/v1/orders",
        {"merchant_id": merchant, "out_trade_no": stack.next("U"), "amount": 100},
        idempotency_key=stack.next("U"),
    ).json()
    wallet = stack.institution("zhifu")
    m = merchant.encode()
    return [
        (
            client,
            "/v1/micropay",
            b'{"merchant_id":"' + m + b'","out_trade_no":"U1","auth_code":"910000000000000000",'
            b'"amount":100,"description":"noodles \xe9 soup"}',
        ),
        (client, "/v1/orders", b'{"merchant_id":"' + m + b'","out_trade_no":"U\xff2","amount":1}'),
        (client, f"/v1/orders/{created['order_id']}/close", b'{"\xc3":1}'),
        (
            client,
            f"/v1/orders/{paid['order_id']}/refunds",
            b'{"out_refund_no":"R1","amount":1,"reason":"\xed\xa0\x80 surrogate"}',
        ),
        (wallet, "/v1/wallet/resolve", b'{"code":"https://pay.zhifu.test/qr/m/\xf0\x9f"}'),
        (
            wallet,
            "/v1/wallet/payments",
            b'{"code":"x","customer_id":"C1","account_id":"A1","scan_source":"camera",'
            b'"description":"\x80"}',
        ),
    ]


def test_a_body_that_is_not_utf8_is_a_400_naming_the_offset(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    routes = _routes(stack)
    before = stack.state()
    with caplog.at_level(logging.ERROR):
        for client, path, body in routes:
            answer = signed_post(client, path, body, stack.next("K"))
            message = assert_refused(answer, 400, "validation_error")
            offset = next(i for i in range(len(body)) if body[i] >= 0x80)
            if path == "/v1/micropay":  # é is fine: the first bad byte is the lone \xe9
                offset = body.index(b"\xe9")
            assert message == f"invalid body: not UTF-8 at byte offset {offset}", path
    assert stack.state() == before
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []  # no traceback


def test_bytes_that_are_not_utf8_outside_a_string_are_refused_too(stack: Stack) -> None:
    merchant, client = stack.merchant()
    body = b'{"merchant_id":"' + merchant.encode() + b'",\xff"amount":1}'
    answer = signed_post(client, "/v1/micropay", body, stack.next("K"))
    message = assert_refused(answer, 400, "validation_error")
    assert message == "invalid body: not UTF-8 at byte offset " + str(body.index(0xFF))


# -- the nonce of a refused request ------------------------------------------------------------


def test_a_request_refused_for_its_missing_key_cannot_be_sent_again_with_one(
    stack: Stack,
) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    body = (
        f'{{"merchant_id":"{merchant}","out_trade_no":"NK-1",'
        f'"auth_code":"{phone.next_code()}","amount":100}}'
    ).encode()
    captured = client.signed_headers("POST", "/v1/micropay", body)
    first = client.request("POST", "/v1/micropay", body, {}, headers=captured)
    assert_refused(first, 400, "idempotency_key_missing")
    before = stack.state()
    replayed = client.request(  # the header is not signed: anyone could add it
        "POST", "/v1/micropay", body, {"Idempotency-Key": "NK-1"}, headers=captured
    )
    assert_refused(replayed, 401, "nonce_reused")
    assert stack.state() == before
    assert client.get("/v1/orders?out_trade_no=NK-1").error_code == "order_not_found"


def test_a_request_refused_for_its_body_uses_up_its_nonce(stack: Stack) -> None:
    merchant, client = stack.merchant()
    for n, body in enumerate(
        (
            b'{"merchant_id":"' + merchant.encode() + b'","amount":"12.34"}',
            b'{"merchant_id":"\xff"}',
            b'{"amount":1,"amount":2}',
        )
    ):
        captured = client.signed_headers("POST", "/v1/micropay", body)
        extra = {"Idempotency-Key": f"NB-{n}"}
        first = client.request("POST", "/v1/micropay", body, extra, headers=captured)
        assert_refused(first, 400, "validation_error")
        again = client.request("POST", "/v1/micropay", body, extra, headers=captured)
        assert_refused(again, 401, "nonce_reused")


def test_a_refused_get_uses_up_its_nonce(stack: Stack) -> None:
    _, client = stack.merchant()
    captured = client.signed_headers("GET", "/v1/orders/O-NONE", b"")
    first = client.request("GET", "/v1/orders/O-NONE", b"", {}, headers=captured)
    assert_refused(first, 404, "order_not_found")
    again = client.request("GET", "/v1/orders/O-NONE", b"", {}, headers=captured)
    assert_refused(again, 401, "nonce_reused")


# -- keys twice in an object ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "key"),
    [
        (b'"amount":99999', "amount"),
        (b'"\\u0061mount":99999', "amount"),  # the same key, escaped
        (b'"auth_code":"910000000000000000"', "auth_code"),
    ],
)
def test_a_key_twice_in_the_body_is_refused_naming_it(
    stack: Stack, second: bytes, key: str
) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    body = (
        (
            f'{{"merchant_id":"{merchant}","out_trade_no":"{stack.next("DK")}",'
            f'"auth_code":"{phone.next_code()}","amount":1,'
        ).encode()
        + second
        + b"}"
    )
    before = stack.state()
    answer = signed_post(client, "/v1/micropay", body, stack.next("K"))
    message = assert_refused(answer, 400, "validation_error")
    assert message == f"invalid body {key}: the key appears more than once"
    assert stack.state() == before


def test_a_key_twice_in_a_refund_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    paid = client.post(
        "/v1/micropay",
        {"merchant_id": merchant, "out_trade_no": stack.next("DR"), "amount": 500,
         "auth_code": phone.next_code()},
        idempotency_key=stack.next("K"),
    ).json()  # fmt: skip
    body = b'{"out_refund_no":"R1","amount":1,"out_refund_no":"R2"}'
    answer = signed_post(client, f"/v1/orders/{paid['order_id']}/refunds", body, "DR-r")
    message = assert_refused(answer, 400, "validation_error")
    assert "out_refund_no" in message
    assert client.get(f"/v1/orders/{paid['order_id']}/refunds").json()["refunds"] == []
