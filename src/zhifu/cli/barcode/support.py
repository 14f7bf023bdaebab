"""What the ``zhifu barcode`` commands share: the platform folder, checks of identifiers and
amounts, files that must not be overwritten, key fingerprints.

The platform folder is the one the web server opens (``default_home()`` of
:mod:`zhifu.web.routes.barcode.common`): ``$ZHIFU_HOME/barcode``, ``var/barcode`` by default.
Only the commands that start a platform (``merchant add``, ``wallet open``, ``demo``) create it
there, and say so; the others refuse a folder without one rather than create an empty one.

>>> parse_yuan("100.00", "--amount")
10000
>>> parse_yuan("1e3", "--amount")
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: --amount: an amount in yuan such as 100.00 (at most 2 decimals)
>>> check_ident("M100001", "ID")
'M100001'
>>> check_institution("alipay")
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: --institution: unknown institution 'alipay' (zhifu, huanyu, qingniao)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from zhifu.barcode.registry import SIMULATED
from zhifu.cli.checks import existing_sqlite
from zhifu.cli.checks import home_argument as data_home_argument
from zhifu.cli.common import Handler, SubParsers, leaf
from zhifu.codec.home import data_home
from zhifu.core.errors import UsageError
from zhifu.core.money import CNY, Money

if TYPE_CHECKING:
    from zhifu.barcode.api.signing import PublicKey
    from zhifu.barcode.platform.system import BarcodeSystem
    from zhifu.security.sealing import LmkSealer

PLATFORM_DB: Final = "barcode.db"  # what BarcodeSystem.open keeps in the folder
_IDENT: Final = re.compile(r"[A-Za-z0-9_\-]{1,32}")  # the API's identifiers (barcode_schemas)


def default_home() -> Path:
    """``$ZHIFU_HOME/barcode`` (``var/barcode``): where the web server keeps the platform."""
    return data_home() / "barcode"


def home_of(args: argparse.Namespace) -> Path:
    """The platform folder named by ``--home``, else :func:`default_home`."""
    home = getattr(args, "home", None)
    return default_home() if home is None else Path(home)


def barcode_leaf(
    sub: SubParsers, name: str, handler: Handler, help_text: str
) -> argparse.ArgumentParser:
    """A leaf command (``--json``) that also takes ``--home`` after its name."""
    parser = leaf(sub, name, handler, help_text)
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,  # keep a --home given before the command name
        help="the platform folder (default: $ZHIFU_HOME/barcode, the web server's)",
    )
    return parser


def home_argument(args: argparse.Namespace) -> str | None:
    """What names the platform folder in an error: ``--home``, else ``ZHIFU_HOME`` if set."""
    if getattr(args, "home", None) is not None:
        return "--home"
    return data_home_argument()


def platform_exists(args: argparse.Namespace) -> bool:
    """Whether the ``--home`` folder holds a platform already."""
    return (home_of(args) / PLATFORM_DB).exists()


def new_platform(args: argparse.Namespace) -> str | None:
    """The folder a creating command is about to make a platform in, None if there is one."""
    return None if platform_exists(args) else str(home_of(args))


def created_lines(folder: str | None) -> list[str]:
    """The line that says a platform was created (none when it was there already)."""
    return [] if folder is None else [f"(a new barcode platform was created in {folder})"]


def platform_sealer(home: Path) -> LmkSealer:
    """The sealer of the key files of the platform in ``home``: the LMK of ``ZHIFU_LMK`` /
    ``ZHIFU_LMK_FILE``, else the local ``lmk.key`` of the data folder ``home`` is in (the
    parent folder: ``$ZHIFU_HOME`` for the default ``$ZHIFU_HOME/barcode``), as the web
    server's."""
    from zhifu.acquirer.config import ensure_local_lmk  # noqa: PLC0415 - late: the CLI starts fast
    from zhifu.security.sealing import LmkSealer  # noqa: PLC0415

    return LmkSealer.from_environ(ensure_local_lmk(home.parent))


@contextlib.contextmanager
def platform(args: argparse.Namespace, *, create: bool = False) -> Iterator[BarcodeSystem]:
    """The platform in the ``--home`` folder, opened (never started) and always closed;
    created there only when ``create`` (a command that starts a platform)."""
    from zhifu.barcode.platform.system import BarcodeSystem  # noqa: PLC0415 - late: the CLI starts fast

    home = home_of(args)
    if home.exists() and not home.is_dir():
        raise UsageError(f"{home} is not a folder", argument=home_argument(args) or "--home")
    if not create or platform_exists(args):
        maker = "`zhifu barcode merchant add` or `zhifu barcode demo`"
        existing_sqlite(home / PLATFORM_DB, "barcode platform", home_argument(args), maker=maker)
    system = BarcodeSystem.open(home, sealer=platform_sealer(home))
    try:
        yield system
    finally:
        system.close()


def check_ident(value: str, argument: str) -> str:
    """An identifier of the API: 1-32 of ``A-Z a-z 0-9 _ -``."""
    if not _IDENT.fullmatch(value):
        raise UsageError("1-32 letters, digits, '_' or '-'", argument=argument)
    return value


def check_institution(value: str, argument: str = "--institution") -> str:
    """One of the platform's simulated institutions."""
    if value not in SIMULATED:
        raise UsageError(
            f"unknown institution {value!r} ({', '.join(SIMULATED)})", argument=argument
        )
    return value


def parse_yuan(text: str, argument: str, *, minimum: int = 1) -> int:
    """Yuan as text (``"100.00"``) -> integer fen, exactly; at least ``minimum`` fen."""
    try:
        minor = Money.parse(text, CNY).minor
    except (UsageError, ValueError):
        raise UsageError(
            "an amount in yuan such as 100.00 (at most 2 decimals)", argument=argument
        ) from None
    if minor < minimum:
        floor = Money(minimum, CNY).format()
        raise UsageError(f"the amount is at least {floor}", argument=argument)
    return minor


def yuan(fen: int) -> str:
    """Integer fen as yuan text: ``yuan(10000) == '100.00'``."""
    return Money(fen, CNY).format()


def write_new(path: Path, data: bytes, argument: str) -> None:
    """Write a new file readable by its owner only (0600); refuse to overwrite anything."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(
            f"{path} exists: refusing to overwrite it (choose another file)", argument=argument
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}", argument=argument) from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def refuse_existing(path: Path, argument: str) -> None:
    """Refuse early (before enrolling anything) when ``path`` already exists."""
    if path.exists() or path.is_symlink():
        raise UsageError(
            f"{path} exists: refusing to overwrite it (choose another file)", argument=argument
        )


def fingerprint(key: PublicKey) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo (DER), in hex: the same as
    ``openssl pkey -pubin -in key.pem -outform DER | sha256sum``."""
    from zhifu.crypto import rsa, sm2  # noqa: PLC0415

    der = sm2.public_key_to_der(key) if isinstance(key, sm2.Sm2PublicKey) else None
    if der is None:
        assert isinstance(key, rsa.RsaPublicKey)
        der = rsa.public_key_to_der(key)
    return hashlib.sha256(der).hexdigest()


def table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """Rows as aligned text columns, headed by the column names.

    >>> table([{"a": "面馆", "b": 1}, {"a": "x", "b": None}], ["a", "b"])
    ['a     b', '面馆  1', 'x']
    """
    cells = [columns] + [["" if r[c] is None else str(r[c]) for c in columns] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(columns))]
    return [
        "  ".join(v + " " * (w - _width(v)) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
