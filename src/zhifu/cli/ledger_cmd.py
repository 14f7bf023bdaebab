"""``zhifu ledger``: look after the core ledger (for now: ``check``).

``zhifu ledger check --database URL`` recomputes every invariant (conservation per ledger,
balances against transfers, flag limits, pending consistency) and prints ``balanced``, or names
each problem and exits with status 1. It never creates a database: a SQLite file that is not
there, or that holds no ledger, is refused naming ``--database`` (exit status 2).

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
>>> args = parser.parse_args(["ledger", "check", "--database", url + ".typo"])
>>> args.handler(args)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: --database: there is no ledger at ...books.db.typo (nothing ...)
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import unquote

from zhifu.cli.checks import existing_sqlite
from zhifu.cli.common import Outcome, SubParsers, leaf, name_arguments
from zhifu.core.errors import UsageError


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
    name_arguments(p, url="--database")


def _check(args: argparse.Namespace) -> Outcome:
    from zhifu.ledger import Ledger  # noqa: PLC0415 - late: the other commands start fast

    path = sqlite_file(args.database)
    if path is not None:
        _check_sqlite_ledger(path)
    try:
        ledger = Ledger.open(args.database, create=False)
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] != "psycopg":  # PostgreSQL did not answer
            raise
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise UsageError(f"cannot open the database ({reason})", argument="--database") from None
    with ledger:
        report = ledger.check()
    data = report.as_dict()
    if report.balanced:
        return Outcome(data, "balanced")
    return Outcome(data, ["not balanced:", *(f"- {p}" for p in report.problems)], status=1)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL or plain path names (as :class:`zhifu.ledger.Ledger` reads it);
    None for another database or one in memory.

    >>> sqlite_file("sqlite:///books.db"), sqlite_file("/srv/books.db"), sqlite_file("sqlite://")
    (PosixPath('books.db'), PosixPath('/srv/books.db'), None)
    """
    if "://" in url:
        scheme, rest = url.split("://", 1)
        if scheme.lower() != "sqlite":
            return None
        url = rest[1:] if rest.startswith("/") else rest
    path = unquote(url)
    return None if path in ("", ":memory:") else Path(path)


def _check_sqlite_ledger(path: Path) -> None:
    """Refuse, without writing to it, a SQLite file that is missing or holds no ledger."""
    existing_sqlite(path, "ledger", "--database")
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read {path} ({exc})", argument="--database") from None
    tables = {row[0] for row in rows}
    if "alembic_version" not in tables:
        other = "other tables" if tables else "no tables"
        raise UsageError(f"{path} holds {other}, not a ledger", argument="--database")
