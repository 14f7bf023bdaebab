"""Time-based one-time passwords (RFC 6238, over the HOTP of RFC 4226): the second factor of
privileged users.

The code of a time step ``T = floor((now - T0) / X)`` (``X`` = 30 s) is the HOTP of ``T`` under
the shared secret: HMAC (SHA-1 by default; SHA-256 and SHA-512 as RFC 6238 allows) over ``T``
as 8 big-endian bytes, dynamic truncation, modulo 10^digits. :func:`verify_totp` accepts the
current step and ``window`` steps either side (clock drift of the phone), and refuses a step
already used (``last_step``), so a code cannot be replayed.

RFC 6238 Appendix B, SHA-1, 8 digits, secret ``12345678901234567890``:

>>> totp(b"12345678901234567890", 59, digits=8)
'94287082'
>>> totp(b"12345678901234567890", 1111111109, digits=8)
'07081804'
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from zhifu.core.errors import UsageError

__all__ = ["STEP_SECONDS", "hotp", "totp", "verify_totp"]

STEP_SECONDS: Final = 30
_HASHES: Final = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def hotp(secret: bytes, counter: int, *, digits: int = 6, algorithm: str = "sha1") -> str:
    """RFC 4226 HOTP of ``counter``."""
    if algorithm not in _HASHES:
        raise UsageError("sha1, sha256 or sha512", argument="algorithm")
    if not 6 <= digits <= 10:
        raise UsageError("6 to 10 digits", argument="digits")
    mac = hmac.new(secret, counter.to_bytes(8, "big"), _HASHES[algorithm]).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFF_FFFF
    return f"{code % 10**digits:0{digits}d}"


def totp(secret: bytes, now: float, *, digits: int = 6, algorithm: str = "sha1") -> str:
    """The code for the time step of ``now`` (Unix seconds)."""
    return hotp(secret, int(now) // STEP_SECONDS, digits=digits, algorithm=algorithm)


def verify_totp(
    secret: bytes, code: str, now: float, *, window: int = 1, last_step: int = -1,
    digits: int = 6, algorithm: str = "sha1",
) -> int | None:  # fmt: skip
    """The time step ``code`` belongs to (within ``window`` steps of ``now`` and after
    ``last_step``), or None: a wrong, stale or replayed code."""
    step = int(now) // STEP_SECONDS
    for candidate in range(step - window, step + window + 1):
        if candidate <= last_step:
            continue
        expected = hotp(secret, candidate, digits=digits, algorithm=algorithm)
        if hmac.compare_digest(expected, code):
            return candidate
    return None
