"""A small client of the barcode API: signs each request, keeps the connection alive.

Standard library only (``http.client``), so the scanning box and scripts need nothing more.
Every request gets a fresh nonce and the current timestamp unless the caller gives them (tests
replay old ones on purpose); every POST needs an ``Idempotency-Key`` (the box uses its order
number, so a retry after a lost answer is recognised).

>>> from zhifu.crypto import sm2
>>> client = ApiClient("http://127.0.0.1:8000", SigningKey("k1", "SM2-SM3",
...                    sm2.generate_keypair()[0]))
>>> client.host, client.port
('127.0.0.1', 8000)
>>> ApiClient("ftp://x", client.key)
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: base_url: an http:// or https:// URL
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from zhifu.barcode.api.signing import SigningKey, sign_headers
from zhifu.barcode.platform.notify import new_nonce
from zhifu.core.errors import UsageError


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        """A response header, by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def error_code(self) -> str | None:
        """The ``error.code`` of a refusal, or None."""
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return str(data["error"].get("code"))
        return None


class ApiClient:
    """Signed requests to one zhifu server (not thread-safe: one client per thread)."""

    def __init__(self, base_url: str, key: SigningKey, *, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError("an http:// or https:// URL", argument="base_url")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.key = key
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def __repr__(self) -> str:
        return f"ApiClient({self.scheme}://{self.host}:{self.port}, key_id={self.key.key_id!r})"

    def post(
        self,
        path: str,
        payload: Mapping[str, Any] | bytes,
        *,
        idempotency_key: str | None,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> ApiResponse:
        """Sign and POST ``payload`` (a mapping is sent as compact JSON)."""
        body = payload if isinstance(payload, bytes) else _json(payload)
        extra = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        return self.request("POST", path, body, extra, timestamp=timestamp, nonce=nonce)

    def get(self, path: str) -> ApiResponse:
        return self.request("GET", path, b"", {})

    def signed_headers(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """The signature headers for a request (the box's and the bench's building block)."""
        return sign_headers(
            self.key,
            method,
            self.prefix + path,
            body,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            nonce=nonce or new_nonce(),
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes,
        extra: Mapping[str, str],
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """Send one request; ``headers`` replaces the signature headers (tests tamper).

        A kept-alive connection that the server had closed (it restarted, say) is opened again
        and the request sent once more, signed anew: a fresh nonce and timestamp (the server
        may have seen the first nonce before the connection dropped, and would refuse it as
        ``nonce_reused`` although the work went through), the same ``Idempotency-Key`` in
        ``extra`` (so the work is done once). Nonce, timestamp or headers given by the caller
        are sent as they are both times."""
        for attempt in (1, 2):
            sent = dict(
                headers or self.signed_headers(method, path, body, timestamp=timestamp, nonce=nonce)
            )
            sent.update(extra)
            if body:
                sent["Content-Type"] = "application/json"
            conn = self._connection()
            try:
                conn.request(method, self.prefix + path, body=body or None, headers=sent)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.close()
                if attempt == 2:
                    raise
                continue  # a kept-alive connection the server had closed: reconnect once
            headers = {name.lower(): value for name, value in response.getheaders()}
            return ApiResponse(response.status, data, headers)
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
