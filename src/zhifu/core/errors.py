"""The error base of zhifu and the codec errors.

Every error raised on purpose by zhifu is a :class:`ZhifuError`. Codec errors carry *where*
the input broke (a field or tag, and a byte offset) and never the input bytes themselves, so
that logging an error can never leak a PAN, a PIN block or a key.

>>> err = DecodeError("length 99 exceeds the 19 allowed", field="2", offset=13)
>>> str(err)
'field 2 at offset 13: length 99 exceeds the 19 allowed'
>>> import pickle
>>> pickle.loads(pickle.dumps(err)).offset
13
"""

from __future__ import annotations

from typing import Any


class ZhifuError(Exception):
    """Base class of every error zhifu raises on purpose."""


class UsageError(ZhifuError, ValueError):
    """An argument given by the caller is not acceptable (wrong length, unknown name, ...).

    ``argument`` names the argument so that a command-line front end can point at it.
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument

    def __str__(self) -> str:
        if self.argument:
            return f"{self.argument}: {self.message}"
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_usage, (type(self), self.message, self.argument))


def _rebuild_usage(cls: type[UsageError], message: str, argument: str | None) -> UsageError:
    return cls(message, argument=argument)


class _LocatedError(ZhifuError, ValueError):
    """An error located in some input by field (or tag) and byte offset."""

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.offset = offset

    def __str__(self) -> str:
        where = []
        if self.field is not None:
            where.append(f"field {self.field}")
        if self.offset is not None:
            where.append(f"at offset {self.offset}")
        return f"{' '.join(where)}: {self.reason}" if where else self.reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_located, (type(self), self.reason, self.field, self.offset))


def _rebuild_located(
    cls: type[_LocatedError], reason: str, field: str | None, offset: int | None
) -> _LocatedError:
    return cls(reason, field=field, offset=offset)


class DecodeError(_LocatedError):
    """Input bytes (a message, a TLV, a file, a body) could not be decoded.

    ``field`` names the field or tag being decoded and ``offset`` the byte offset in the
    input where decoding failed. The input itself is never kept.
    """


class EncodeError(_LocatedError):
    """Values could not be encoded (a field too long, a value of the wrong kind)."""
