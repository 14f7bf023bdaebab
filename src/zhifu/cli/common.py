"""Helpers shared by the command-line front ends: argument parsing, errors and output.

Every mistake comes out as one line naming the option as the user typed it: argparse's own
complaints through :class:`CliParser`, and a :class:`~zhifu.core.errors.UsageError` raised by
a library through :func:`cli_argument`, which turns the library's name for an argument
(``url``, ``merchant_id``) into the command's option (``--database``, ``--merchant``).

>>> parse_hex("--key", "0123 4567")
b'\\x01#Eg'
>>> parse_hex("--key", "0G")
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: --key: not hexadecimal (expected an even number of 0-9/A-F digits)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeAlias

from zhifu.core.errors import UsageError

Result = Mapping[str, Any]
Handler = Callable[[argparse.Namespace], "Outcome"]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

_ARGPARSE_ARGUMENT = re.compile(r"argument (\S+): (.*)", re.DOTALL)


class CliParser(argparse.ArgumentParser):
    """An argument parser whose complaints are one line in the house form, exit status 2.

    >>> parser = CliParser(prog="zhifu box")
    >>> _ = parser.add_argument("--timeout", type=float)
    >>> parser.parse_args(["--timeout", "soon"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """

    def error(self, message: str) -> NoReturn:
        found = _ARGPARSE_ARGUMENT.fullmatch(message)
        if found:  # "argument -t/--timeout: ..." -> "--timeout: ..."
            message = f"{found.group(1).split('/')[-1]}: {found.group(2)}"
        self.exit(2, f"zhifu: error: {message} (see: {self.prog} --help)\n")


class Outcome:
    """What a command produced: data for ``--json``, text lines for people, an exit status."""

    def __init__(self, data: Result, text: str | list[str], status: int = 0) -> None:
        self.data = data
        self.lines = [text] if isinstance(text, str) else text
        self.status = status


def parse_hex(argument: str, value: str, *, length: int | None = None) -> bytes:
    """Parse hex (spaces allowed) into bytes, or raise a UsageError naming ``argument``."""
    text = "".join(value.split())
    if len(text) % 2 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise UsageError(
            "not hexadecimal (expected an even number of 0-9/A-F digits)", argument=argument
        )
    data = bytes.fromhex(text)
    if length is not None and len(data) != length:
        raise UsageError(f"expected {length} bytes, got {len(data)}", argument=argument)
    return data


def hexu(data: bytes) -> str:
    """Upper-case hex, the payment industry's habit."""
    return data.hex().upper()


def add_json(parser: argparse.ArgumentParser) -> None:
    """Give a leaf command the ``--json`` switch."""
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (for other programs)"
    )


def leaf(
    sub: SubParsers,
    name: str,
    handler: Handler,
    help_text: str,
) -> argparse.ArgumentParser:
    """Add a leaf command with ``--json`` and its handler."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    add_json(parser)
    parser.set_defaults(handler=handler, leaf_parser=parser)
    return parser


def name_arguments(parser: argparse.ArgumentParser, **options: str) -> None:
    """Tell the error printer which option a library's argument name stands for here
    (``name_arguments(p, url="--database")``: a ``UsageError`` about ``url`` names
    ``--database``)."""
    parser.set_defaults(argument_names=options)


def cli_argument(
    parser: argparse.ArgumentParser | None,
    name: str | None,
    names: Mapping[str, str] | None = None,
) -> str | None:
    """The command-line spelling of a library argument name, or None for a name the user
    never typed (the message is then printed without it).

    Options, positionals' metavars and environment variables stay as they are; ``names``
    (from :func:`name_arguments`) maps the others; ``key`` becomes ``--key`` when the command
    has that option.

    >>> parser = CliParser(prog="zhifu ledger check")
    >>> _ = parser.add_argument("--database")
    >>> _ = parser.add_argument("data", metavar="HEX")
    >>> [cli_argument(parser, n, {"url": "--database"})
    ...  for n in ("url", "database", "HEX", "block", "ZHIFU_HOME", "merchant_id")]
    ['--database', '--database', 'HEX', 'HEX', 'ZHIFU_HOME', None]
    """
    if name is None or parser is None:
        return name if name is None or name.startswith("-") or name.isupper() else None
    if names and name in names:
        return names[name]
    options = parser._option_string_actions
    positional = [str(a.metavar) for a in parser._actions if not a.option_strings and a.metavar]
    flag = "--" + name.replace("_", "-")
    if name in options or name in positional or _is_environment(name):
        found: str | None = name
    elif flag in options:
        found = flag
    elif name in ("data", "message", "block") and positional:
        found = positional[0]
    else:
        found = None
    return found


def _is_environment(name: str) -> bool:
    """``ZHIFU_HOME``-like: an environment variable the user set."""
    return name.isupper() and name.replace("_", "").isalnum() and name.startswith("ZHIFU_")


def emit(outcome: Outcome, as_json: bool) -> int:
    """Print an outcome and return its exit status."""
    if as_json:
        json.dump(outcome.data, sys.stdout, ensure_ascii=False, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for line in outcome.lines:
            print(line)
    return outcome.status
