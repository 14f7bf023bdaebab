"""Log redaction: PANs, secret values, hex key/PIN-block material and raw byte dumps never reach a
log handler in clear.

:func:`install_redaction` masks, in every record of a logger and its children:

* secret values (:mod:`zhifu.security.secrets`) — already masked by their own ``str``/``repr``,
  and replaced by their masked form before formatting, so even ``%d``/``%x`` cannot reach them;
* PAN-like digit runs (13 or more digits, or 4-digit groups) → first 6 + last 4
  (:func:`~zhifu.security.secrets.mask_pan`);
* hex runs of 16 or more characters containing a letter (keys, PIN blocks, cryptograms,
  message dumps) → ``<hex redacted>``;
* Python ``bytes`` literals of 8 or more bytes (``b'...'``) → ``b'<redacted>'``.

The message, the string values of ``extra=`` fields, the formatted exception and the stack
information are all redacted. Redaction happens where the record is made (a process-wide log
record factory, installed once) and again in a filter on the logger and on its handlers, so it
also holds for records that other code builds by hand. Debug level does not bypass it.

>>> import logging
>>> log = logging.getLogger("zhifu.doctest.redact")
>>> install_redaction(log)
>>> record = log.makeRecord(log.name, logging.INFO, __file__, 1,
...                         "pan %s key %s", ("6225881234566789", "0123456789ABCDEFFEDCBA98"),
...                         None)
>>> record.getMessage()
'pan 622588******6789 key <hex redacted>'
>>> uninstall_redaction(log)
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from zhifu.security.secrets import Secret, mask_pan

__all__ = [
    "RedactingFilter",
    "RedactingFormatter",
    "install_redaction",
    "redact_record",
    "redact_text",
    "uninstall_redaction",
]

# 16+ hex characters with a letter among them, not inside a word, not a handle id (``K-...``).
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])(?<!K-)(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{16,}(?![0-9A-Za-z])")
_BYTES_LITERAL = re.compile(r"""b'(?:[^'\\]|\\.){8,}?'|b"(?:[^"\\]|\\.){8,}?\"""")
_MARK = "_zhifu_redacted"
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None).__dict__
) | {"message", "asctime", _MARK}


def redact_text(text: str) -> str:
    """Apply the three text rules (bytes literals, hex runs, PAN-like digits) to ``text``.

    >>> redact_text("pin block 0412AC89ABCDEF67, handle K-0123456789abcdef01, stan 000123")
    'pin block <hex redacted>, handle K-0123456789abcdef01, stan 000123'
    >>> redact_text(repr(bytes(range(16))))
    "b'<redacted>'"
    """
    text = _BYTES_LITERAL.sub("b'<redacted>'", text)
    text = _HEX_RUN.sub("<hex redacted>", text)
    return mask_pan(text)


def _safe_arg(value: object) -> object:
    """A log argument with secret values replaced by their masked display form."""
    if isinstance(value, Secret):
        return value.masked()
    return value


def _safe_args(args: Any) -> Any:
    if isinstance(args, Mapping):
        return {key: _safe_arg(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_safe_arg(value) for value in args)
    return args


def _message(record: logging.LogRecord) -> str:
    record.msg = _safe_arg(record.msg)
    record.args = _safe_args(record.args)
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):
        # A broken format string: keep the pieces, redacted, rather than lose the record.
        return f"{record.msg!s} {record.args!r}"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place (message, extra fields, exception, stack) and return it.

    The message is formatted once and the arguments dropped, so handlers see only the
    redacted text; the other parts are redacted on every call (``extra=`` fields are added
    after the record factory runs). Calling it again is harmless.
    """
    if not getattr(record, _MARK, False):
        record.msg = redact_text(_message(record))
        record.args = None
        setattr(record, _MARK, True)
    for name, value in list(record.__dict__.items()):
        if name in _STANDARD_ATTRS:
            continue
        if isinstance(value, Secret):
            setattr(record, name, value.masked())
        elif isinstance(value, str):
            setattr(record, name, redact_text(value))
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A filter that redacts every record it sees (and never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter that redacts the record, then the whole formatted line once more."""

    def format(self, record: logging.LogRecord) -> str:
        redact_record(record)
        return redact_text(super().format(record))


# --- installation -----------------------------------------------------------------------------

_scopes: set[str] = set()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def _in_scope(name: str) -> bool:
    return any(not s or name == s or name.startswith(s + ".") for s in _scopes)


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    record = _previous_factory(*args, **kwargs)
    if _in_scope(record.name):
        redact_record(record)
    return record


def _scope_of(logger: logging.Logger) -> str:
    return "" if logger is logging.getLogger() else logger.name


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Redact every record of ``logger`` (the root logger when ``None``) and of its children.

    Adds a :class:`RedactingFilter` to the logger and to each handler it has now, and makes
    the process-wide record factory redact records of this logger's subtree where they are
    created (so handlers added later, and handlers of parent loggers, see redacted records
    too). Calling it again is harmless.
    """
    global _previous_factory  # noqa: PLW0603 - one process-wide factory, installed once
    target = logger if logger is not None else logging.getLogger()
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory)
    _scopes.add(_scope_of(target))
    _add_filter(target)
    for handler in target.handlers:
        _add_filter(handler)


def uninstall_redaction(logger: logging.Logger | None = None) -> None:
    """Undo :func:`install_redaction` for ``logger`` (tests use it to restore the setup)."""
    global _previous_factory  # noqa: PLW0603
    target = logger if logger is not None else logging.getLogger()
    _scopes.discard(_scope_of(target))
    for holder in (target, *target.handlers):
        for existing in list(holder.filters):
            if isinstance(existing, RedactingFilter):
                holder.removeFilter(existing)
    factory_is_ours = logging.getLogRecordFactory() is _redacting_factory
    if not _scopes and _previous_factory is not None and factory_is_ours:
        logging.setLogRecordFactory(_previous_factory)
        _previous_factory = None


def _add_filter(holder: logging.Filterer) -> None:
    if not any(isinstance(f, RedactingFilter) for f in holder.filters):
        holder.addFilter(RedactingFilter())
