"""Password hashes with scrypt, a memory-hard function (``hashlib.scrypt``: OpenSSL's).

A hash is kept as text ``scrypt$N$r$p$salt$key`` (salt and key in hex), never the password;
verification compares in constant time. Passwords are at least 12 characters.

>>> stored = hash_password("correct horse battery")
>>> stored.startswith("scrypt$16384$8$1$"), verify_password("correct horse battery", stored)
(True, True)
>>> verify_password("correct horse batterY", stored)
False
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from zhifu.core.errors import DecodeError, UsageError

__all__ = ["MIN_LENGTH", "hash_password", "verify_password"]

MIN_LENGTH: Final = 12
_N, _R, _P = 2**14, 8, 1  # 16 MiB of memory per hash


def hash_password(password: str) -> str:
    """The stored form of a new password (UsageError when it is shorter than 12)."""
    if len(password) < MIN_LENGTH:
        raise UsageError(f"a password is at least {MIN_LENGTH} characters", argument="password")
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise DecodeError("not a zhifu password hash", field="password hash", offset=0)
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        raise DecodeError("a malformed password hash", field="password hash", offset=0) from None
    found = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(key), maxmem=2**26
    )
    return hmac.compare_digest(found, key)
