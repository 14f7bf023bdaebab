"""The platform's key files, sealed: what the platform needs of a key custodian, and the files
it keeps with it.

:class:`SecretSealer` is the whole contract: ``seal(label, clear)`` gives bytes that only
``unseal(label, ...)`` with the same label turns back into ``clear``, and ``unseal`` raises a
:class:`~zhifu.core.errors.ZhifuError` naming what to do when the bytes were sealed under
another master key, for another label, or changed. ``zhifu.security.sealing.LmkSealer`` is the
implementation the servers and the command line use (authenticated encryption under the local
master key, the label as associated data); the barcode package does not import it (imports go
downward only), the faces hand it in.

:class:`KeyFiles` keeps each secret of the platform folder in a file of its own: sealed in
``<name>.sealed`` when a sealer is given (a clear ``<name>`` an earlier version left there is
sealed, then overwritten and removed), in clear ``<name>`` without one (tests and examples
that open a folder directly; a folder whose files are sealed is refused then, naming the
sealer). Files are 0600 (:mod:`zhifu.core.files`).

>>> import tempfile
>>> class Reversed:  # a toy sealer, for the example only
...     def seal(self, label: str, clear: bytes) -> bytes:
...         return label.encode() + b":" + clear[::-1]
...     def unseal(self, label: str, sealed: bytes) -> bytes:
...         return sealed.removeprefix(label.encode() + b":")[::-1]
>>> folder = Path(tempfile.mkdtemp())
>>> (folder / "k.key").write_bytes(b"abc")
3
>>> KeyFiles(folder, Reversed()).get("k.key", lambda: b"new")
b'abc'
>>> sorted(p.name for p in folder.iterdir()), (folder / "k.key.sealed").read_bytes()
(['k.key.sealed'], b'k.key:cba')
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

from zhifu.core.errors import UsageError
from zhifu.core.files import private_file

SEALED_SUFFIX: Final = ".sealed"


class SecretSealer(Protocol):
    """Seals secrets under a master key kept elsewhere (see the module docstring)."""

    def seal(self, label: str, clear: bytes) -> bytes:
        """``clear`` sealed for ``label``."""
        ...

    def unseal(self, label: str, sealed: bytes) -> bytes:
        """The clear bytes of what :meth:`seal` gave for ``label``; a ZhifuError otherwise."""
        ...


class KeyFiles:
    """The secrets of one folder, one file each (see the module docstring)."""

    def __init__(self, folder: Path, sealer: SecretSealer | None) -> None:
        self.folder = folder
        self.sealer = sealer

    def get(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The secret ``name``, created with ``make()`` the first time."""
        clear_path = self.folder / name
        sealed_path = self.folder / (name + SEALED_SUFFIX)
        if self.sealer is None:
            if sealed_path.exists():
                raise UsageError(
                    f"{sealed_path} is sealed: open the platform with the LMK's sealer",
                    argument="sealer",
                )
            private_file(clear_path, make() if not clear_path.exists() else b"")
            return clear_path.read_bytes()
        if not sealed_path.exists():
            clear = clear_path.read_bytes() if clear_path.exists() else make()
            private_file(sealed_path, self.sealer.seal(name, clear))
        if clear_path.exists():  # sealed now: the clear copy goes
            _shred(clear_path)
        return self.sealer.unseal(name, sealed_path.read_bytes())


def _shred(path: Path) -> None:
    """Overwrite a file with zeros, sync it, remove it."""
    size = path.stat().st_size
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, bytes(size))
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
