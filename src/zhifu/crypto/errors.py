"""Errors of the cryptography core."""

from __future__ import annotations

from zhifu.core.errors import UsageError, ZhifuError


class CryptoError(ZhifuError):
    """A cryptographic operation failed (bad padding, failed integrity check, ...)."""


class InvalidKeyError(UsageError):
    """A key has the wrong length or form for the algorithm; the key is never echoed."""


class UnsupportedAlgorithm(ZhifuError):  # noqa: N818 - the name users look for
    """An algorithm is named but not available (e.g. SM1/SSF33 with no hardware provider)."""
