"""ApiClient's resend after a dropped connection, against a real socket on 127.0.0.1: the
first connection reads the request and closes unanswered (the server died after the work),
the second answers. The resend is signed anew (fresh nonce and timestamp, a valid signature)
with the same Idempotency-Key."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from zhifu.barcode.api.client import ApiClient
from zhifu.barcode.api.signing import SigningKey, VerifyingKey, canonical_request, parse_headers
from zhifu.crypto import sm2

KEY = sm2.generate_keypair()


def _read_request(conn: socket.socket) -> tuple[dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += conn.recv(65536)
    return headers, body


class DropsFirst:
    """Reads each request; closes the first connection unanswered, answers the others."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[tuple[dict[str, str], bytes]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(2):
            conn, _ = self.sock.accept()
            with conn:
                self.seen.append(_read_request(conn))
                if len(self.seen) > 1:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


@pytest.fixture
def server() -> Iterator[DropsFirst]:
    found = DropsFirst()
    yield found
    found.sock.close()
    found.thread.join(timeout=5)


def test_the_resend_has_a_fresh_nonce_and_the_same_idempotency_key(server: DropsFirst) -> None:
    client = ApiClient(f"http://127.0.0.1:{server.port}", SigningKey("k1", "SM2-SM3", KEY[0]))
    try:
        reply = client.post("/v1/micropay", {"amount": 1}, idempotency_key="order-1")
    finally:
        client.close()
    assert reply.status == 200
    first, second = (parse_headers(h) for h, _ in server.seen)
    assert [h["idempotency-key"] for h, _ in server.seen] == ["order-1", "order-1"]
    assert first.nonce != second.nonce
    verifier = VerifyingKey("k1", "merchant:M1", "SM2-SM3", KEY[1])
    for parts, (_, body) in zip((first, second), server.seen, strict=True):
        message = canonical_request(
            "POST", "/v1/micropay", "k1", parts.timestamp, parts.nonce, body
        )
        assert verifier.verify(message, parts.signature)


def test_a_nonce_given_by_the_caller_is_sent_again(server: DropsFirst) -> None:
    client = ApiClient(f"http://127.0.0.1:{server.port}", SigningKey("k1", "SM2-SM3", KEY[0]))
    try:
        client.post("/v1/x", {}, idempotency_key="k", nonce="abcdefghijklmnop")
    finally:
        client.close()
    assert [parse_headers(h).nonce for h, _ in server.seen] == ["abcdefghijklmnop"] * 2
