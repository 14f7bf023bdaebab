"""``zhifu ledger``: look after the core ledger (for now: ``check``).

``zhifu ledger check --database URL`` recomputes every invariant (conservation per ledger,
balances against transfers, flag limits, pending consistency) and prints ``balanced``, or names
each problem and exits with status 1.

>>> import argparse, tempfile, os
>>> from zhifu.cli.common import emit
>>> from zhifu.ledger import Account, Ledger
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> folder = tempfile.mkdtemp()
>>> url = "sqlite:///" + os.path.join(folder, "books.db")
>>> with Ledger.open(url) as ledger:
...     _ = ledger.create_accounts([Account(1, 156, 20111)])
>>> args = parser.parse_args(["ledger", "check", "--database", url])
>>> emit(args.handler(args), args.json)
balanced
0
"""

from __future__ import annotations

import argparse

from zhifu.cli.common import Outcome, SubParsers, leaf


def register(sub: SubParsers) -> None:
    """Add ``ledger`` and its sub-commands to the command tree."""
    text = "the core ledger (核心账务): verify the books"
    group = sub.add_parser("ledger", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="ledger commands", metavar="COMMAND")
    p = leaf(
        cmds,
        "check",
        _check,
        "verify conservation, balances, limits and pending transfers; prints 'balanced'",
    )
    p.add_argument(
        "--database",
        required=True,
        metavar="URL",
        help="the ledger: sqlite:///path.db, a path, or postgresql+psycopg://user@host/db",
    )


def _check(args: argparse.Namespace) -> Outcome:
    from zhifu.ledger import Ledger  # noqa: PLC0415 - late: the other commands start fast

    with Ledger.open(args.database, create=False) as ledger:
        report = ledger.check()
    data = report.as_dict()
    if report.balanced:
        return Outcome(data, "balanced")
    return Outcome(data, ["not balanced:", *(f"- {p}" for p in report.problems)], status=1)
