"""Errors of the security module.

Every refusal of the security module is a :class:`SecurityModuleError`. Messages name handles,
usages, algorithms, lengths and what to do next; never a key, a PIN, a PIN block or a PAN.

>>> err = KeyUsageError("K-0011223344556677", "PIN", "MAC")
>>> str(err)
'key K-0011223344556677 has usage MAC; this operation needs usage PIN'
>>> isinstance(err, SecurityModuleError)
True
"""

from __future__ import annotations

from typing import Any

from zhifu.core.errors import ZhifuError

__all__ = [
    "KcvMismatchError",
    "KeyNotFoundError",
    "KeyUsageError",
    "LmkError",
    "PinBlockError",
    "SecurityModuleError",
]


class SecurityModuleError(ZhifuError):
    """The security module refused an operation (wrong key, wrong usage, bad LMK, ...)."""


class LmkError(SecurityModuleError):
    """The local master key (LMK) is missing, malformed, or not the one the store was made under."""


class KeyNotFoundError(SecurityModuleError):
    """No key with this handle is in the store (deleted, never created, or another store)."""

    def __init__(self, handle: str) -> None:
        super().__init__(f"no key with handle {handle} in this security module")
        self.handle = handle

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.handle,))


class KeyUsageError(SecurityModuleError):
    """A key was used for something its usage or algorithm does not allow.

    ``expected`` names what the operation needs, ``actual`` what the key has, and ``what`` the
    attribute compared: ``"usage"`` (the default), ``"algorithm"``, ``"length"``,
    ``"export attribute"``.
    """

    def __init__(self, handle: str, expected: str, actual: str, *, what: str = "usage") -> None:
        super().__init__(
            f"key {handle} has {what} {actual}; this operation needs {what} {expected}"
        )
        self.handle = handle
        self.expected = expected
        self.actual = actual
        self.what = what

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_usage_error, (self.handle, self.expected, self.actual, self.what))


class KcvMismatchError(SecurityModuleError):
    """A key (or key component) did not match the check value it came with; nothing was stored."""


class PinBlockError(SecurityModuleError):
    """An enciphered PIN block did not decode (wrong key, wrong PAN, wrong format, tampering).

    Acquirers and issuers usually answer this with response code 99 (PIN format error) rather
    than 55 (wrong PIN).
    """


def _rebuild_usage_error(handle: str, expected: str, actual: str, what: str) -> KeyUsageError:
    return KeyUsageError(handle, expected, actual, what=what)
