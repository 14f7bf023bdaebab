"""``zhifu config``: the stack's settings — ``show`` (value and source of each), ``example``.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["config", "example"])
>>> args.handler(args).lines[2]
'[web]'
"""

from __future__ import annotations

import argparse

from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.cli.settings import example_toml, load_settings


def register(sub: SubParsers) -> None:
    """Add ``config show`` and ``config example``."""
    text = "the stack's settings: zhifu.toml, environment overrides, defaults"
    group = sub.add_parser("config", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="config commands", metavar="COMMAND")
    p = leaf(cmds, "show", _show, "every setting with its value and where it came from")
    p.add_argument("--config", metavar="FILE", help="the configuration file (default: see docs)")
    leaf(cmds, "example", _example, "print a zhifu.toml with every setting at its default")


def _show(args: argparse.Namespace) -> Outcome:
    found = load_settings(args.config)
    rows = found.rows()
    width = max(len(str(r["key"])) for r in rows)
    lines = [f"file: {found.file or '(none)'}"]
    lines += [f"{r['key']!s:<{width}}  {r['value']!s:<24}  {r['source']}" for r in rows]
    return Outcome({"file": str(found.file) if found.file else None, "settings": rows}, lines)


def _example(args: argparse.Namespace) -> Outcome:
    text = example_toml()
    return Outcome({"toml": text}, text.rstrip("\n").split("\n"))
