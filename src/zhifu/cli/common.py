"""Helpers shared by the command-line front ends: argument parsing and output.

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
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from zhifu.core.errors import UsageError

Result = Mapping[str, Any]
Handler = Callable[[argparse.Namespace], "Outcome"]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


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


def cli_argument(parser: argparse.ArgumentParser | None, name: str | None) -> str | None:
    """The command-line spelling of a library argument name (``key`` -> ``--key``)."""
    if parser is None or name is None or name.startswith("-") or name.isupper():
        return name
    flag = "--" + name.replace("_", "-")
    if flag in parser._option_string_actions:
        return flag
    if name in ("data", "message", "block"):
        positional = [a.metavar for a in parser._actions if not a.option_strings and a.metavar]
        if positional:
            return str(positional[0])
    return name


def emit(outcome: Outcome, as_json: bool) -> int:
    """Print an outcome and return its exit status."""
    if as_json:
        json.dump(outcome.data, sys.stdout, ensure_ascii=False, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for line in outcome.lines:
            print(line)
    return outcome.status
