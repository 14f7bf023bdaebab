"""Checks the commands share: argument types for argparse, stores that must already exist,
addresses to listen on.

The argument types refuse a value with a one-line message that :class:`~zhifu.cli.common.
CliParser` prints after the option's name (``zhifu: error: --timeout: ...``):

>>> seconds("2.5"), port("8000"), host("127.0.0.1"), host("::1"), host("pos-gw.local")
(2.5, 8000, '127.0.0.1', '::1', 'pos-gw.local')
>>> seconds("-1")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be a number of seconds above 0 and at most 3600, not '-1'
>>> host("256.1.1.1")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: not an IP address: '256.1.1.1'

:func:`existing_sqlite` refuses a store that is not there (rather than letting SQLite create
an empty one where the user expected theirs) or that is not a SQLite database.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import math
import os
import re
import socket
from pathlib import Path
from typing import Final

from zhifu.codec.home import HOME_ENV
from zhifu.core.errors import UsageError

SECONDS_MAX: Final = 3600.0
SQLITE_HEADER: Final = b"SQLite format 3\x00"
_HOST_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def seconds(text: str) -> float:
    """A timeout: a number of seconds above 0 and at most :data:`SECONDS_MAX`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= SECONDS_MAX:  # also refuses nan
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {SECONDS_MAX:.0f}, not {text!r}"
        )
    return value


def count(text: str) -> int:
    """A number of things, at least 1.

    >>> count("32")
    32
    """
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: any free port)."""
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 0 to 65535, not {text!r}")
    return int(text)


def host(text: str) -> str:
    """An address to listen on or connect to: an IPv4 or IPv6 address, or a host name.

    A name of digits and dots only is taken for an IPv4 address, so ``256.1.1.1`` is refused
    here instead of being looked up.
    """
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if all(label.isdigit() for label in labels) or ":" in text:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}")
    if len(text) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise argparse.ArgumentTypeError(f"not an IP address or a host name: {text!r}")
    return text


def existing_sqlite(path: Path, what: str, argument: str | None, *, maker: str = "") -> Path:
    """``path`` if it is an existing SQLite database, else a UsageError naming ``argument``
    (and ``maker``, the command that makes one); never creates anything."""
    if not path.exists():
        made = f"; {maker} makes one" if maker else ""
        raise UsageError(
            f"there is no {what} at {path} (nothing was created{made})", argument=argument
        )
    if path.is_dir():
        raise UsageError(f"{path} is a folder: no {what} there", argument=argument)
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", argument=argument) from None
    if head != SQLITE_HEADER:
        kind = "an empty file" if not head else "not a SQLite database"
        raise UsageError(f"{path} is {kind}: no {what} there", argument=argument)
    return path


def listening_socket(address: str, number: int, option: str) -> socket.socket:
    """A TCP socket bound to ``address:number`` and listening, for a server to take over;
    a UsageError naming ``option`` (or ``--host``) when the port is taken or the address
    is not this machine's."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        sock.bind((address, number))
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        raise bind_error(exc, address, number, option) from None
    return sock


def check_free(address: str, number: int, option: str) -> None:
    """Refuse (naming ``option``) when a server could not listen on ``address:number``."""
    listening_socket(address, number, option).close()


def bind_error(exc: OSError, address: str, number: int, option: str) -> UsageError:
    """The UsageError for a failure to listen on ``address:number``."""
    where = f"[{address}]:{number}" if ":" in address else f"{address}:{number}"
    if isinstance(exc, socket.gaierror):
        return UsageError(f"cannot resolve the host name {address!r}", argument="--host")
    if exc.errno == errno.EADDRINUSE:
        return UsageError(
            f"{where} is already in use (another program listens there): stop it or choose "
            f"another {option}",
            argument=option,
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"{address} is not an address of this machine", argument="--host")
    if exc.errno == errno.EACCES:
        return UsageError(f"not allowed to listen on {where} (ports below 1024)", argument=option)
    return UsageError(f"cannot listen on {where}: {exc.strerror}", argument=option)


def home_argument() -> str | None:
    """What to name for the data directory in an error: ``ZHIFU_HOME`` when the user set it
    (empty counts as unset, as :func:`zhifu.codec.home.data_home` has it)."""
    return HOME_ENV if os.environ.get(HOME_ENV) else None


def check_folder(path: Path, argument: str | None) -> None:
    """Refuse a data folder that exists as something else than a folder."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is not a folder", argument=argument)
