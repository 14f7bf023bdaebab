"""``zhifu``: the command line.

>>> main(["--version"])
zhifu 0.1.0
0
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import cast

import zhifu
from zhifu.cli import (
    acquirer_cmd,
    audit_cmd,
    backup_cmd,
    config_cmd,
    device_cmd,
    iso8583_cmd,
    issuer_cmd,
    ledger_cmd,
    load_cmd,
    people_cmd,
    pki_cmd,
    qr_cmd,
    serve_cmd,
    sim_cmd,
    terminal_cmd,
)
from zhifu.cli.barcode import box as box_cmd
from zhifu.cli.barcode import commands as barcode_cmd
from zhifu.cli.card import commands as card_cmd
from zhifu.cli.clearing import commands as clearing_cmd
from zhifu.cli.common import CliParser, SubParsers, cli_argument, emit
from zhifu.cli.crypto import commands as crypto_cmd
from zhifu.cli.demo import command as demo_command
from zhifu.core.errors import UsageError, ZhifuError

PROG = "zhifu"


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = CliParser(
        prog=PROG,
        description="zhifu (支付): the Chinese payment stack — terminal, hosts, barcode, "
        "ledger, clearing — and a payment-crypto calculator.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    # every sub-parser is a CliParser too (argparse makes them of the parent's class)
    sub = cast(SubParsers, parser.add_subparsers(title="commands", metavar="COMMAND"))
    serve_cmd.register(sub)
    crypto_cmd.register(sub)
    card_cmd.register(sub)
    card_cmd.register_emv(sub)
    ledger_cmd.register(sub)
    qr_cmd.register(sub)
    clearing_cmd.register(sub)
    acquirer_cmd.register(sub)
    box_cmd.register(sub)
    barcode_cmd.register(sub)
    iso8583_cmd.register(sub)
    issuer_cmd.register(sub)
    terminal_cmd.register(sub)
    load_cmd.register(sub)
    sim_cmd.register(sub)
    device_cmd.register(sub)
    demo_command.register(sub)
    config_cmd.register(sub)
    audit_cmd.register(sub)
    pki_cmd.register(sub)
    people_cmd.register(sub)
    people_cmd.register_keys(sub)
    backup_cmd.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a negative answer, 2 bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"{PROG} {zhifu.__version__}")
        return 0
    if getattr(args, "handler", None) is None:
        target = getattr(args, "help_parser", parser)
        target.print_help()
        return 0 if target is parser else 2
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    """Run a leaf command, turning every error into one line on stderr and an exit status."""
    try:
        return emit(args.handler(args), getattr(args, "json", False))
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UsageError as exc:
        names = getattr(args, "argument_names", None)
        argument = cli_argument(getattr(args, "leaf_parser", None), exc.argument, names)
        print(
            f"{PROG}: error: {_line(UsageError(exc.message, argument=argument))}", file=sys.stderr
        )
        return 2
    except ZhifuError as exc:
        print(f"{PROG}: {_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: say so briefly, never a traceback unless asked for
        if os.environ.get("ZHIFU_DEBUG"):
            raise
        print(
            f"{PROG}: internal error ({type(exc).__name__}); "
            "rerun with ZHIFU_DEBUG=1 for details and report it",
            file=sys.stderr,
        )
        return 70


def _line(exc: Exception) -> str:
    """An error as one line, whatever its message holds."""
    return " ".join(str(exc).split())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
