"""``zhifu acquirer download``: the platform key, and signed packages built for a terminal.

* ``key`` prints the platform's public key (made on first use; ``--new`` makes another one
  current), what a terminal installs with ``zhifu terminal download trust``;
* ``build --terminal TID --kind KIND [FILE] --out PACKAGE`` writes the signed package that brings
  the terminal's table of KIND to what FILE says (a JSON object, entry id -> fields, as
  ``docs/terminal.md`` shows) — or, without FILE, to the acquirer's own CA keys (``capk``) or
  merchant name and AIDs (``params``); a ``program`` FILE is the program itself; ``keys`` come
  from ``--key NAME=USAGE`` (default ``pik=pin mak=mac tdk=data``), generated here and wrapped
  under the terminal's TMK;
* ``history --terminal TID`` lists the packages built.

Each package built is a record of the data directory's audit trail (``download.build``).

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="zhifu acquirer")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["download", "build", "--terminal", "10000001", "--kind", "keys",
...                           "--key", "mak=mac", "--out", "p.zdl"])
>>> _keys(args.key)
{'mak': <KeyUsage.MAC: 'mac'>}
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhifu.cli.common import Outcome, SubParsers, leaf, name_arguments
from zhifu.core.errors import UsageError
from zhifu.security.download.errors import ContentError, MalformedPackageError
from zhifu.security.download.kinds import Kind
from zhifu.security.keys import KeyAlgorithm, KeyUsage

if TYPE_CHECKING:
    from zhifu.acquirer.downloads import DownloadBuilder

__all__ = ["register"]

DEFAULT_KEYS = ("pik=pin", "mak=mac", "tdk=data")


def register(sub: SubParsers) -> None:
    """Add ``download`` and its commands under ``zhifu acquirer``."""
    text = "signed downloads for terminals: the platform key, packages, their history"
    group = sub.add_parser("download", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="download commands", metavar="COMMAND")

    p = leaf(cmds, "key", _key, "print the platform's public key (made on first use)")
    p.add_argument(
        "--algorithm",
        choices=("sm2", "rsa"),
        help="sm2 (SM2-SM3, the default) or rsa (RSA-2048, PSS with SHA-256)",
    )
    p.add_argument(
        "--new",
        action="store_true",
        help="make a new platform key current (terminals must install it)",
    )

    p = leaf(
        cmds,
        "build",
        _build,
        "write the signed package that brings a terminal's table "
        "of a kind to FILE (or to the acquirer's tables)",
    )
    p.add_argument("--terminal", required=True, metavar="TID", help="terminal id (8 chars)")
    p.add_argument("--kind", required=True, choices=[k.value for k in Kind], help="what to send")
    p.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="capk/params: JSON object of entries by id; program: the program",
    )
    p.add_argument("--out", required=True, metavar="PACKAGE", help="the package file to write")
    p.add_argument(
        "--full",
        action="store_true",
        help="send the whole table, not only what changed since the last package",
    )
    p.add_argument(
        "--key",
        action="append",
        metavar="NAME=USAGE",
        help="keys: a key to generate and send (usage pin, mac or data); repeat",
    )
    p.add_argument("--program", default="pos", metavar="NAME", help="program: its name")
    p.add_argument("--program-version", metavar="TEXT", help="program: its version")
    name_arguments(p, terminal_id="--terminal", keys="--key", full="--full")

    p = leaf(cmds, "history", _history, "the packages built for a terminal")
    p.add_argument("--terminal", required=True, metavar="TID", help="terminal id (8 chars)")


@contextmanager
def _builder() -> Iterator[DownloadBuilder]:
    """The platform's builder over the data directory's database and key store."""
    from zhifu.acquirer.config import AcquirerConfig, open_key_store  # noqa: PLC0415
    from zhifu.acquirer.database import Database  # noqa: PLC0415
    from zhifu.acquirer.downloads import DownloadBuilder  # noqa: PLC0415
    from zhifu.cli.checks import existing_sqlite, home_argument  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415

    config = AcquirerConfig.local()
    path = Path(config.db_path)
    maker = "`zhifu acquirer register-terminal`"
    existing_sqlite(path, "acquirer database", home_argument(), maker=maker)
    db, store = Database(path), open_key_store(config)
    try:
        yield DownloadBuilder(db, SoftHsm(store))
    finally:
        store.close()
        db.close()


def _key(args: argparse.Namespace) -> Outcome:
    wanted = KeyAlgorithm.parse(args.algorithm) if args.algorithm else None
    with _builder() as builder:
        if args.new:
            key = builder.new_platform_key(wanted or KeyAlgorithm.SM2)
        else:
            key = builder.platform_key(wanted or KeyAlgorithm.SM2)
            if wanted is not None and key.algorithm is not wanted:
                raise UsageError(
                    f"the platform key is {key.algorithm.name}; give --new to make "
                    f"an {wanted.name} one current",
                    argument="--algorithm",
                )
    data = key.as_json()
    lines = [
        f"platform key {key.key_id} ({data['signature_algorithm']}), held as {key.handle}",
        f"public key {data['public_key']}",
        "install it on each terminal: zhifu terminal download trust --state TERM "
        f"--algorithm {key.algorithm.value} --public-key <the public key above>",
    ]
    return Outcome(data, lines)


def _keys(specs: list[str] | None) -> dict[str, KeyUsage]:
    keys: dict[str, KeyUsage] = {}
    for spec in specs or DEFAULT_KEYS:
        name, sep, usage = spec.partition("=")
        if not sep or not name:
            raise UsageError(f"expected NAME=USAGE, got {spec!r}", argument="--key")
        keys[name] = KeyUsage.parse(usage) if usage in ("pin", "mac", "data") else _bad(usage)
    return keys


def _bad(usage: str) -> KeyUsage:
    raise UsageError(
        f"a downloaded key's usage is pin, mac or data, not {usage!r}", argument="--key"
    )


def _wanted(args: argparse.Namespace, builder: DownloadBuilder, kind: Kind) -> dict[str, Any]:
    """The wanted table of a capk, params or program package."""
    if kind is Kind.PROGRAM:
        if not args.file or not args.program_version:
            raise UsageError(
                "a program package needs FILE and --program-version",
                argument="--program-version" if args.file else "FILE",
            )
        return dict(builder.program_entries(args.program, args.program_version, _read(args.file)))
    if not args.file:
        return dict(
            builder.capk_entries() if kind is Kind.CAPK else builder.params_entries(args.terminal)
        )
    try:
        wanted = json.loads(_read(args.file))
    except ValueError as exc:
        raise UsageError(f"not JSON ({exc})", argument="FILE") from None
    if not isinstance(wanted, dict) or not all(isinstance(v, dict) for v in wanted.values()):
        raise UsageError("a JSON object of entries by id, each an object", argument="FILE")
    return wanted


def _read(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name} ({exc.strerror})", argument="FILE") from None


def _build(args: argparse.Namespace) -> Outcome:
    out = Path(args.out)
    if not out.parent.is_dir():  # checked before a version is spent
        raise UsageError(f"{out.parent} is not a folder", argument="--out")
    kind = Kind(args.kind)
    if kind is Kind.KEYS and args.file:
        raise UsageError("keys come from --key, not from a file", argument="FILE")
    with _builder() as builder:
        try:
            if kind is Kind.KEYS:
                built = builder.build_keys(args.terminal, _keys(args.key), full=args.full)
            else:
                wanted = _wanted(args, builder, kind)
                built = builder.build(args.terminal, kind, wanted, full=args.full)
        except (MalformedPackageError, ContentError) as exc:
            raise UsageError(f"not a valid {kind.value} table: {exc}", argument="FILE") from None
    out.write_bytes(built.data)
    _audit(built.as_json())
    data = {**built.as_json(), "out": str(out)}
    how = "full" if built.base_version == 0 else f"delta on version {built.base_version}"
    counts = f"{len(built.added)} added, {len(built.updated)} updated, {len(built.deleted)} deleted"
    lines = [
        f"{kind.value} version {built.version} ({how}) for terminal {args.terminal}: {counts}",
        f"written to {out} ({len(built.data)} bytes)",
    ]
    return Outcome(data, lines)


def _audit(built: dict[str, Any]) -> None:
    from zhifu.cli.audit_cmd import open_trail  # noqa: PLC0415

    with open_trail() as trail:
        trail.append(
            f"operator:{getpass.getuser()}",
            "download.build",
            f"{built['terminal_id']} {built['kind']} v{built['version']}",
            "ok",
            origin="cli",
            detail=f"sha256 {built['sha256']}",
        )


def _history(args: argparse.Namespace) -> Outcome:
    with _builder() as builder:
        rows = builder.history(args.terminal)
    lines = [
        f"{r['kind']:8} v{r['version']:<4} {'full' if not r['base_version'] else 'delta'}"
        f"  {r['created'][:19]}  {len(r['entries'])} entries  {r['sha256'][:16]}"
        for r in rows
    ]
    return Outcome(
        {"terminal_id": args.terminal, "packages": rows},
        lines or f"no package built for terminal {args.terminal}",
    )
