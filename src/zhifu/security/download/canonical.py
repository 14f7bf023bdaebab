"""Canonical JSON: the one byte form a package body may take, so a signature covers exactly it.

The canonical form of a value is ``json.dumps`` with keys sorted, no spaces (``,`` and ``:``),
UTF-8 as is (no ``\\u`` escapes except for control characters) and no floats, NaN or
infinities: values are objects, arrays, strings, integers, ``true``, ``false`` and ``null``.
:func:`parse_canonical` accepts a byte string only when it *is* the canonical form of what it
decodes to — a duplicated key, a space, another key order, an escaped letter or a float is
refused with the byte offset where the input leaves the canonical form.

>>> canonical({"b": 1, "a": ["湖", True]})
b'{"a":["\\xe6\\xb9\\x96",true],"b":1}'
>>> parse_canonical(b'{"a":1,"b":2}', field="body")
{'a': 1, 'b': 2}
>>> parse_canonical(b'{"b":2,"a":1}', field="body")
Traceback (most recent call last):
...
zhifu.security.download.errors.MalformedPackageError: field body at offset 2: not in canonical ...
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from zhifu.security.download.errors import MalformedPackageError

__all__ = ["canonical", "parse_canonical"]


class _RefusedError(ValueError):
    """A value the canonical form does not allow (raised from inside the JSON decoder)."""


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (see the module docstring)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)  # fmt: skip
    return text.encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _RefusedError("an object names the same key twice")
    return found


def _no_float(text: str) -> NoReturn:
    raise _RefusedError("a number with a fraction or an exponent (amounts are integer fen)")


def _no_constant(text: str) -> NoReturn:
    raise _RefusedError(f"{text} is not a JSON value")


def parse_canonical(data: bytes, *, field: str, offset: int = 0) -> dict[str, Any]:
    """The object ``data`` holds, if ``data`` is its canonical form; else
    :class:`MalformedPackageError` naming ``field`` and the byte offset (plus ``offset``)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPackageError("not UTF-8", field=field, offset=offset + exc.start) from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
                           parse_constant=_no_constant)  # fmt: skip
    except json.JSONDecodeError as exc:
        where = offset + len(text[: exc.pos].encode("utf-8"))
        raise MalformedPackageError(f"not JSON ({exc.msg})", field=field, offset=where) from None
    except (_RefusedError, ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, _RefusedError) else "not JSON this reader accepts"
        raise MalformedPackageError(reason, field=field, offset=offset) from None
    if not isinstance(value, dict):
        raise MalformedPackageError("not a JSON object", field=field, offset=offset)
    again = canonical(value)
    if again != data:
        where = next((i for i, (a, b) in enumerate(zip(again, data, strict=False)) if a != b),
                     min(len(again), len(data)))  # fmt: skip
        raise MalformedPackageError(
            "not in canonical form (keys sorted, no spaces, UTF-8 unescaped, no floats)",
            field=field,
            offset=offset + where,
        )
    return value
