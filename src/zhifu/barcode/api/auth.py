"""Authenticate a signed request: key, algorithm, timestamp window, signature, then nonce.

The checks run cheapest first and each refusal has its own code: ``signature_missing``,
``key_unknown``, ``signature_invalid`` (also when the header's algorithm is not the key's),
``timestamp_stale`` (more than 5 minutes from the server clock, either way) and
``nonce_reused``. The nonce is recorded only once the signature verified, so nobody can burn
another signer's nonces, and then whatever happens to the request next (the platform's
:class:`~zhifu.barcode.platform.requests.SignedRequests` claims it with its own first write, or
:meth:`Authenticator.authenticate` here); a request that is refused changes nothing else.

>>> from zhifu.barcode.platform.db import Database
>>> from zhifu.barcode.platform.directory import Directory
>>> from zhifu.barcode.platform.guards import Nonces
>>> from zhifu.barcode.api.signing import SigningKey, VerifyingKey, sign_headers
>>> from zhifu.crypto import sm2
>>> db = Database()
>>> directory = Directory(db)
>>> private, public = sm2.generate_keypair()
>>> directory.add_key(VerifyingKey("k1", "merchant:M1", "SM2-SM3", public))
>>> auth = Authenticator(directory, Nonces(db), now=lambda: 1764050000.0)
>>> h = sign_headers(SigningKey("k1", "SM2-SM3", private), "GET", "/v1/orders/O1", b"",
...                  timestamp=1764050000, nonce="abcdefghijklmnop")
>>> auth.authenticate("GET", "/v1/orders/O1", h, b"").principal
'merchant:M1'
>>> auth.authenticate("GET", "/v1/orders/O1", h, b"")
Traceback (most recent call last):
...
zhifu.barcode.api.errors.BarcodeError: nonce_reused: the nonce was already used by this caller
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.api.signing import (
    WINDOW_SECONDS,
    SignedParts,
    VerifyingKey,
    canonical_request,
    check_timestamp,
    parse_headers,
)
from zhifu.barcode.api.sm2_helper import Sm2Helper
from zhifu.barcode.platform.directory import Directory
from zhifu.barcode.platform.guards import Nonces
from zhifu.core.offload import Offload
from zhifu.crypto import sm2
from zhifu.crypto.sm2_batch import verify_many

_log = logging.getLogger("zhifu.barcode.api.auth")


class Authenticator:
    """Checks signed requests against the registered keys (see the module docstring)."""

    def __init__(
        self,
        directory: Directory,
        nonces: Nonces,
        *,
        now: Callable[[], float] = time.time,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self.directory = directory
        self.nonces = nonces
        self._now = now
        self.window_seconds = window_seconds
        self._offload: Offload | None = None  # started by the first verify_async (RSA)
        self._sm2: Sm2Helper | None = None  # (SM2)

    def authenticate(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> VerifyingKey:
        """The registered key that signed the request, or a :class:`BarcodeError`."""
        key, nonce, now_us = self.verify(method, path, headers, body)
        if not self.nonces.claim(key.key_id, nonce, now_us):
            raise BarcodeError("nonce_reused")
        return key

    def verify(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[VerifyingKey, str, int]:
        """Every check but the nonce's: (key, nonce, now in µs) for the caller to claim the
        nonce itself (:meth:`Nonces.claim_in`, in the same transaction as its own writes)."""
        key, parts, message, now_us = self._checked(method, path, headers, body)
        if not key.verify(message, parts.signature):
            raise BarcodeError("signature_invalid")
        return key, parts.nonce, now_us

    async def verify_async(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[VerifyingKey, str, int]:
        """:meth:`verify` for an event loop, with the signature checked beside the loop on the
        other core: RSA on a worker thread (OpenSSL releases the interpreter lock), SM2 in a
        helper process that ends with this one (:mod:`zhifu.barcode.api.sm2_helper`:
        gmalglib holds the lock, so a thread would gain nothing). Both are batched per turn of
        the loop."""
        key, parts, message, now_us = self._checked(method, path, headers, body)
        if isinstance(key.public_key, sm2.Sm2PublicKey):
            valid = await self._sm2_check(key.public_key, message, parts.signature)
        else:
            if self._offload is None:
                self._offload = Offload("zhifu-signature-check")
            valid = await self._offload.call(lambda: key.verify(message, parts.signature))
        if not valid:
            raise BarcodeError("signature_invalid")
        return key, parts.nonce, now_us

    async def _sm2_check(self, key: sm2.Sm2PublicKey, message: bytes, signature: bytes) -> bool:
        """On the helper process; here if it cannot be used (it failed to start or died)."""
        if self._sm2 is None:
            self._sm2 = Sm2Helper()
        try:
            return await self._sm2.call((key.point, message, signature))
        except (OSError, RuntimeError) as exc:  # HelperGoneError is a RuntimeError
            _log.warning("SM2 helper process unavailable (%s); verifying here", type(exc).__name__)
            return verify_many([(key.point, message, signature)])[0]

    def close(self) -> None:
        """Stop the worker thread of :meth:`verify_async`, if it was started."""
        if self._offload is not None:
            self._offload.close()
        if self._sm2 is not None:
            self._sm2.close()

    def _checked(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[VerifyingKey, SignedParts, bytes, int]:
        """The cheap checks, in order; the key, the parts and the message to verify."""
        parts = parse_headers(headers)
        key = self.directory.key(parts.key_id)
        if key is None:
            raise BarcodeError("key_unknown")
        if parts.algorithm != key.algorithm:
            raise BarcodeError("signature_invalid", "the header names another algorithm")
        now = self._now()
        check_timestamp(parts.timestamp, now, self.window_seconds)
        message = canonical_request(method, path, key.key_id, parts.timestamp, parts.nonce, body)
        return key, parts, message, int(now * 1_000_000)
