"""Signed polls: a bank reads its inbox and its day-end summary only with its own SM2 signature.

The GET requests of a bank's front-end (``/clearing/inbox/{bank}?after=N`` and
``/clearing/reconciliation/{bank}?date=D``) carry four headers::

    Zhifu-Key-Id:    the 12-digit code of the bank that signs
    Zhifu-Timestamp: Unix time in seconds (decimal)
    Zhifu-Nonce:     16-64 characters of [A-Za-z0-9_-], fresh for every request
    Zhifu-Signature: "SM2-SM3 " + base64 of the signature (r || s, 64 bytes)

and the signature covers the canonical bytes, UTF-8 lines each ending in ``\\n``::

    ZHIFU-BEPS-POLL-1\\n METHOD\\n /path?query\\n bank\\n timestamp\\n nonce\\n

made with the bank's SM2 key (SM3, default signer ID), the one its messages are signed with:
the centre checks it against the public key registered for that bank. The path and query are
the ones sent, byte for byte. :class:`PollGuard` refuses, in this order (:data:`REFUSALS`):
headers missing, a signer with no registered key, a malformed signature, a timestamp more than
:data:`WINDOW_SECONDS` from the centre's clock or older than the centre's start (the nonces
seen before a restart are not kept), a signature that does not verify, a signer that is not the
bank of the path (403), and a nonce the signer already used. A refused poll changes nothing: a
nonce is remembered only when the poll is let through.

>>> from zhifu.clearing.signing import KeyDirectory, Signer
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.keys import KeyAlgorithm, KeyUsage
>>> from zhifu.security.store import KeyStore
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
>>> keys = KeyDirectory(hsm)
>>> _ = keys.register("102100099996", hsm.get_public_key(key))
>>> guard = PollGuard(keys, now=lambda: 1764050000)
>>> target = "/clearing/inbox/102100099996?after=0"
>>> headers = sign_poll(Signer(hsm, key, "102100099996"), "GET", target,
...                     timestamp=1764050000, nonce="abcdefghijklmnop")
>>> guard.check("GET", target, "102100099996", headers)
'102100099996'
>>> guard.check("GET", target, "102100099996", headers)
Traceback (most recent call last):
...
zhifu.clearing.polls.PollAuthError: nonce_reused: this bank already sent this nonce
>>> guard.check("GET", target.replace("after=0", "after=7"), "102100099996", headers)
Traceback (most recent call last):
...
zhifu.clearing.polls.PollAuthError: signature_invalid: the signature does not verify
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from zhifu.clearing.model import BANK_CODE
from zhifu.clearing.signing import ALGORITHM, KeyDirectory, Signer
from zhifu.core.errors import UsageError, ZhifuError

__all__ = [
    "REFUSALS",
    "SCHEME",
    "WINDOW_SECONDS",
    "PollAuthError",
    "PollGuard",
    "canonical_poll",
    "new_nonce",
    "sign_poll",
]

SCHEME: Final = "ZHIFU-BEPS-POLL-1"
WINDOW_SECONDS: Final = 300
H_KEY_ID: Final = "Zhifu-Key-Id"
H_TIMESTAMP: Final = "Zhifu-Timestamp"
H_NONCE: Final = "Zhifu-Nonce"
H_SIGNATURE: Final = "Zhifu-Signature"
HEADERS: Final = (H_KEY_ID, H_TIMESTAMP, H_NONCE, H_SIGNATURE)

REFUSALS: Final[Mapping[str, tuple[int, str]]] = {
    "signature_missing": (401, "sign the poll: Zhifu-Key-Id, -Timestamp, -Nonce, -Signature"),
    "key_unknown": (401, "no key is registered for this bank code"),
    "signature_invalid": (401, "the signature does not verify"),
    "timestamp_stale": (401, "the timestamp is too far from the centre's clock"),
    "bank_mismatch": (403, "a bank reads only its own inbox and summary"),
    "nonce_reused": (401, "this bank already sent this nonce"),
}
"""Refusal code -> (HTTP status, what it means)."""

_NONCE: Final = re.compile(r"[A-Za-z0-9_\-]{16,64}")
_TIMESTAMP: Final = re.compile(r"\d{1,12}")


class PollAuthError(ZhifuError):
    """A poll refused: ``code`` from :data:`REFUSALS` and its HTTP ``status``."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.status, text = REFUSALS[code]
        self.detail = detail or text
        super().__init__(f"{code}: {self.detail}")


def canonical_poll(method: str, target: str, bank: str, timestamp: int, nonce: str) -> bytes:
    """The bytes a poll's signature covers (see the module docstring)."""
    lines = (SCHEME, method.upper(), target, bank, str(timestamp), nonce)
    if any("\n" in line for line in lines):
        raise UsageError("no line of a signed poll may hold a newline", argument="target")
    return ("\n".join(lines) + "\n").encode("utf-8")


def new_nonce() -> str:
    """A fresh random nonce (32 hex digits)."""
    return secrets.token_hex(16)


def sign_poll(
    signer: Signer, method: str, target: str, *, timestamp: int, nonce: str
) -> dict[str, str]:
    """The four headers of a poll signed by ``signer``'s key."""
    if not _NONCE.fullmatch(nonce):
        raise UsageError("a nonce is 16-64 of A-Z a-z 0-9 _ -", argument="nonce")
    data = canonical_poll(method, target, signer.code, timestamp, nonce)
    value = base64.b64encode(signer.hsm.sign(signer.key, data)).decode("ascii")
    return {
        H_KEY_ID: signer.code,
        H_TIMESTAMP: str(timestamp),
        H_NONCE: nonce,
        H_SIGNATURE: f"{ALGORITHM} {value}",
    }


@dataclass(frozen=True, slots=True)
class _Parts:
    bank: str
    timestamp: int
    nonce: str
    signature: bytes


def _header(headers: Mapping[str, str], name: str) -> str | None:
    found = headers.get(name)
    return found if found is not None else headers.get(name.lower())


def _parse(headers: Mapping[str, str]) -> _Parts:
    values = [_header(headers, name) for name in HEADERS]
    if any(v is None for v in values):
        raise PollAuthError("signature_missing")
    bank, timestamp, nonce, signature = (str(v) for v in values)
    if not BANK_CODE.fullmatch(bank):
        raise PollAuthError("key_unknown", "Zhifu-Key-Id is not a 12-digit bank code")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise PollAuthError("timestamp_stale", "Zhifu-Timestamp is not Unix seconds")
    if not _NONCE.fullmatch(nonce):
        raise PollAuthError("signature_invalid", "Zhifu-Nonce is not 16-64 of A-Z a-z 0-9 _ -")
    algorithm, _, text = signature.partition(" ")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PollAuthError("signature_invalid", "the signature is not base64") from None
    if algorithm != ALGORITHM or len(raw) != 64:
        raise PollAuthError("signature_invalid", f"not an {ALGORITHM} signature")
    return _Parts(bank, int(timestamp), nonce, raw)


def _unix_now() -> int:
    return int(time.time())


class PollGuard:
    """Checks signed polls against a :class:`KeyDirectory` (see the module docstring).

    ``now`` is the wall clock in Unix seconds (never the centres' business clock, which may be
    a rehearsal's); polls signed before the guard was made are refused.
    """

    def __init__(
        self,
        keys: KeyDirectory,
        *,
        now: Callable[[], int] = _unix_now,
        window: int = WINDOW_SECONDS,
    ) -> None:
        self.keys = keys
        self.window = window
        self._now = now
        self.started = now()
        self._seen: dict[tuple[str, str], int] = {}  # (bank, nonce) -> forget after (Unix s)
        self._lock = threading.Lock()

    def check(self, method: str, target: str, bank: str, headers: Mapping[str, str]) -> str:
        """The bank that signed the poll for ``bank``'s data, or :class:`PollAuthError`."""
        parts = _parse(headers)
        if parts.bank not in self.keys:
            raise PollAuthError("key_unknown")
        now = self._now()
        if abs(now - parts.timestamp) > self.window:
            raise PollAuthError("timestamp_stale")
        if parts.timestamp < self.started:
            raise PollAuthError("timestamp_stale", "signed before the centre started: sign again")
        data = canonical_poll(method, target, parts.bank, parts.timestamp, parts.nonce)
        if not self.keys.verify_bytes(parts.bank, data, parts.signature):
            raise PollAuthError("signature_invalid")
        if parts.bank != bank:
            raise PollAuthError("bank_mismatch")
        self._claim(parts, now)
        return parts.bank

    def _claim(self, parts: _Parts, now: int) -> None:
        key = (parts.bank, parts.nonce)
        with self._lock:
            if len(self._seen) > 4096:
                self._seen = {k: t for k, t in self._seen.items() if t >= now}
            if self._seen.get(key, -1) >= now:
                raise PollAuthError("nonce_reused")
            self._seen[key] = parts.timestamp + self.window
