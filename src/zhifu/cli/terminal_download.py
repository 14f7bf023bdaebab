"""``zhifu terminal download``: the platform key a terminal trusts, applying packages, the store.

* ``trust --state TERM --public-key HEX [--algorithm sm2|rsa] [--replace]`` installs the
  platform's public key (``zhifu acquirer download key`` prints it);
* ``apply PACKAGE --state TERM`` verifies a package and applies all of it, or nothing: exit 0
  when applied, 1 when refused (``--json``: ``applied`` false, ``reason`` the refusal's code,
  ``message``), 2 on bad arguments;
* ``show --state TERM`` lists the versions and entries the terminal holds.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="zhifu terminal")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["download", "apply", "p.zdl", "--state", "T"])
>>> args.package, args.state
('p.zdl', 'T')
"""

from __future__ import annotations

import argparse
from typing import Any

from zhifu.cli.common import Outcome, SubParsers, leaf, name_arguments, parse_hex
from zhifu.security.download.errors import DownloadError
from zhifu.security.keys import KeyAlgorithm

__all__ = ["register"]


def _state(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", required=True, metavar="TERM", help="the terminal's state folder")


def register(sub: SubParsers) -> None:
    """Add ``download`` and its commands under ``zhifu terminal``."""
    text = "signed downloads: the platform key, applying packages, what the terminal holds"
    group = sub.add_parser("download", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="download commands", metavar="COMMAND")

    p = leaf(cmds, "trust", _trust, "install the platform's public key (at manufacture)")
    _state(p)
    p.add_argument(
        "--public-key",
        required=True,
        metavar="HEX",
        help="as zhifu acquirer download key prints it",
    )
    p.add_argument("--algorithm", default="sm2", choices=("sm2", "rsa"), help="default sm2")
    p.add_argument(
        "--replace", action="store_true", help="replace the platform key the terminal trusts now"
    )
    name_arguments(p, public_key="--public-key", replace="--replace")

    p = leaf(cmds, "apply", _apply, "verify a package and apply all of it, or nothing")
    p.add_argument("package", metavar="PACKAGE", help="the package file")
    _state(p)

    p = leaf(cmds, "show", _show, "the versions and entries the terminal holds")
    _state(p)


def _trust(args: argparse.Namespace) -> Outcome:
    from zhifu.terminal.download import install_platform_key  # noqa: PLC0415 - fast start

    public = parse_hex("--public-key", args.public_key)
    key = install_platform_key(
        args.state, public, KeyAlgorithm.parse(args.algorithm), replace=args.replace
    )
    data = {"key_id": key.key_id, "algorithm": key.algorithm, "handle": key.handle}
    return Outcome(data, f"the terminal trusts platform key {key.key_id} ({key.algorithm})")


def _apply(args: argparse.Namespace) -> Outcome:
    from zhifu.terminal.download import apply_file  # noqa: PLC0415

    try:
        applied = apply_file(args.state, args.package)
    except DownloadError as exc:
        data = {"applied": False, "reason": exc.code, "message": str(exc)}
        return Outcome(data, f"refused ({exc.code}): {exc}", 1)
    how = "full" if applied.full else "delta"
    text = (
        f"applied {applied.kind.value} version {applied.version} ({how}, was "
        f"{applied.previous}): {len(applied.added)} added, {len(applied.updated)} "
        f"updated, {len(applied.deleted)} deleted"
    )
    return Outcome(applied.as_json(), text)


def _show(args: argparse.Namespace) -> Outcome:
    from zhifu.terminal.download import DownloadStore  # noqa: PLC0415
    from zhifu.terminal.state import TerminalState  # noqa: PLC0415

    TerminalState.load(args.state)  # a terminal folder, or the usual error
    store = DownloadStore.load(args.state)
    signer = store.signer
    tables: dict[str, Any] = {
        kind.value: {
            "version": t.version,
            "applied": t.applied,
            "entries": {i: e["digest"] for i, e in sorted(t.entries.items())},
        }
        for kind, t in sorted(store.tables.items(), key=lambda item: item[0].value)
    }
    data = {
        "platform_key": None
        if signer is None
        else {"key_id": signer.key_id, "algorithm": signer.algorithm},
        "tables": tables,
    }
    lines = [
        f"platform key {signer.key_id} ({signer.algorithm})"
        if signer
        else "no platform key: zhifu terminal download trust"
    ]
    for name, table in tables.items():
        lines.append(f"{name} version {table['version']} (applied {table['applied']})")
        lines += [f"  {entry}  {digest[:16]}" for entry, digest in table["entries"].items()]
    if not tables:
        lines.append("nothing downloaded yet")
    return Outcome(data, lines)
