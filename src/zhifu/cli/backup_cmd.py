"""``zhifu backup`` and ``zhifu restore``: the data directory in one encrypted file, and back.

``backup --out FILE`` seals every file of the data directory (SQLite databases through SQLite's
online backup, so each is a consistent snapshot) under a passphrase (AES-256-GCM, key by
scrypt). ``restore FILE --home DIR`` refuses a wrong passphrase or a changed or cut file before
writing anything, restores into a fresh directory only, then checks the restored installation:
every ledger balanced, the audit trail verified (exit status 1 if one fails) and reports the
drill's time. The passphrase: ``--passphrase-stdin`` (the first line of standard input),
``ZHIFU_BACKUP_PASSPHRASE``, or asked on the terminal. See docs/security.md (backup).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from zhifu.cli.common import Outcome, SubParsers, leaf

PASSPHRASE_ENV = "ZHIFU_BACKUP_PASSPHRASE"  # noqa: S105 - the name of a variable


def register(sub: SubParsers) -> None:
    """Add ``backup`` and ``restore``."""
    p = leaf(sub, "backup", _backup, "write the data directory to one encrypted backup file")
    p.add_argument("--out", required=True, metavar="FILE", help="the backup file to write")
    _common(p, "the data directory to back up (default: $ZHIFU_HOME or var/)")
    p = leaf(sub, "restore", _restore, "restore a backup onto a fresh data directory and check it")
    p.add_argument("file", metavar="FILE", help="the backup file")
    _common(p, "the fresh data directory to restore into (default: $ZHIFU_HOME or var/)")


def _common(parser: argparse.ArgumentParser, home_help: str) -> None:
    parser.add_argument("--home", metavar="DIR", help=home_help)
    text = f"read the passphrase from stdin (else ${PASSPHRASE_ENV}, else a prompt)"
    parser.add_argument("--passphrase-stdin", action="store_true", help=text)
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _home(args: argparse.Namespace) -> Path:
    from zhifu.codec.home import data_home  # noqa: PLC0415

    return Path(args.home) if args.home else data_home()


def _passphrase(args: argparse.Namespace) -> str:
    if args.passphrase_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return os.environ.get(PASSPHRASE_ENV) or getpass.getpass("backup passphrase: ")


def _say(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    return None if args.quiet else _say


def _backup(args: argparse.Namespace) -> Outcome:
    from zhifu.acquirer.backup import back_up  # noqa: PLC0415

    made = back_up(_home(args), Path(args.out), _passphrase(args), _progress(args))
    data = {"file": args.out, "files": made.files, "bytes": made.bytes,
            "seconds": round(made.seconds, 3)}  # fmt: skip
    return Outcome(data, f"backed up {made.files} files ({made.bytes:,} bytes) to {args.out} "
                         f"in {made.seconds:.2f} s")  # fmt: skip


def _restore(args: argparse.Namespace) -> Outcome:
    from zhifu.acquirer.backup import restore, verify  # noqa: PLC0415

    started, home = time.monotonic(), _home(args)
    made = restore(Path(args.file), home, _passphrase(args), _progress(args))
    checks = verify(home)
    seconds = time.monotonic() - started
    ok = all(v.startswith("ok") for v in checks.values())
    data = {"home": str(home), "files": made.files, "bytes": made.bytes, "checks": checks,
            "restore_seconds": round(made.seconds, 3), "drill_seconds": round(seconds, 3),
            "ok": ok}  # fmt: skip
    lines = [f"restored {made.files} files ({made.bytes:,} bytes) into {home} "
             f"in {made.seconds:.2f} s", *(f"  {k}: {v}" for k, v in checks.items()),
             f"restore and checks took {seconds:.2f} s"]  # fmt: skip
    return Outcome(data, lines, 0 if ok else 1)
