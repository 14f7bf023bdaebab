"""Why a download package is refused: one error class per rule, each with a stable ``code``.

Every refusal is a :class:`DownloadError` and means *nothing was applied*. The message says what
is wrong and what to do; it names terminals, kinds, versions, entry ids and key ids, never a
key, a wrapped key or a program byte. ``code`` is for programs (``--json`` output, logs).

>>> err = ReplayedPackageError("params version 3 is already applied")
>>> err.code, isinstance(err, DownloadError)
('replayed', True)
>>> bad = MalformedPackageError("truncated", field="signature", offset=212)
>>> str(bad), bad.code
('field signature at offset 212: truncated', 'malformed')
"""

from __future__ import annotations

from typing import ClassVar

from zhifu.core.errors import DecodeError, ZhifuError

__all__ = [
    "ERRORS",
    "BaseVersionError",
    "ContentError",
    "DigestError",
    "DownloadError",
    "EntryConflictError",
    "KeyCheckError",
    "MalformedPackageError",
    "NoRoomError",
    "NotTrustedError",
    "ReplayedPackageError",
    "SignatureError",
    "StalePackageError",
    "UnknownSignerError",
    "WrongTerminalError",
]


class DownloadError(ZhifuError):
    """A download package was refused; nothing was applied."""

    code: ClassVar[str] = "refused"


class MalformedPackageError(DecodeError, DownloadError):
    """The file is not a package: truncated, not canonical, a field missing or of the wrong
    type. ``field`` names the part (``signature``, ``entries[2].data.kcv``), ``offset`` the
    byte where reading stopped when there is one."""

    code: ClassVar[str] = "malformed"


class NotTrustedError(DownloadError):
    """The terminal holds no platform public key yet, so it can verify nothing."""

    code: ClassVar[str] = "no_platform_key"


class UnknownSignerError(DownloadError):
    """The package names another signing key (or algorithm) than the platform key installed."""

    code: ClassVar[str] = "unknown_signer"


class SignatureError(DownloadError):
    """The signature does not verify: the file was altered, damaged or signed by another key."""

    code: ClassVar[str] = "bad_signature"


class DigestError(DownloadError):
    """An entry's digest does not match the entry."""

    code: ClassVar[str] = "bad_digest"


class WrongTerminalError(DownloadError):
    """The package was built for another terminal."""

    code: ClassVar[str] = "wrong_terminal"


class ReplayedPackageError(DownloadError):
    """The package's version is the one the terminal already applied."""

    code: ClassVar[str] = "replayed"


class StalePackageError(DownloadError):
    """The package's version is older than the one the terminal applied."""

    code: ClassVar[str] = "older_version"


class BaseVersionError(DownloadError):
    """A delta package built on another version than the one the terminal holds."""

    code: ClassVar[str] = "base_mismatch"


class EntryConflictError(DownloadError):
    """An entry adds what the terminal holds, or updates or deletes what it does not hold."""

    code: ClassVar[str] = "entry_conflict"


class NoRoomError(DownloadError):
    """The terminal's key store has no room for the package's keys."""

    code: ClassVar[str] = "no_room"


class ContentError(DownloadError):
    """An entry's content breaks its own rules (a CA key check value, a program digest...)."""

    code: ClassVar[str] = "bad_content"


class KeyCheckError(ContentError):
    """A downloaded key does not match its check value once unwrapped under the TMK."""

    code: ClassVar[str] = "key_check_value"


ERRORS: tuple[type[DownloadError], ...] = (
    MalformedPackageError,
    NotTrustedError,
    UnknownSignerError,
    SignatureError,
    DigestError,
    WrongTerminalError,
    ReplayedPackageError,
    StalePackageError,
    BaseVersionError,
    EntryConflictError,
    ContentError,
    NoRoomError,
    KeyCheckError,
)
"""Every refusal, in the order the terminal checks them."""
