"""Private data files: folders 0700, files 0600, whatever the umask says.

Databases, key stores and key files hold customer and account ids or keys, so only their
owner may read them. :func:`private_folder` creates a data folder (and the missing folders
above it) with mode 0700; :func:`private_file` creates a file with mode 0600, or takes any
access by group and others from an existing one. SQLite keeps a ``-wal`` and a ``-shm`` file
beside a database (``-journal`` outside WAL mode) and gives them the database file's mode when
it creates them; :func:`private_sqlite` tightens those an earlier run left behind.

An existing folder is not changed (it may be a home directory or a shared mount): when others
can enter it, a warning says so.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> oct(mode_of(private_folder(root / "var" / "clearing")))
'0o700'
>>> oct(mode_of(root / "var"))
'0o700'
>>> private_file(root / "var" / "lmk.key", b"secret")
True
>>> oct(mode_of(root / "var" / "lmk.key"))
'0o600'
>>> private_file(root / "var" / "lmk.key", b"other")
False
>>> (root / "var" / "lmk.key").read_bytes()
b'secret'
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Final

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "SQLITE_SIDE_FILES",
    "mode_of",
    "private_file",
    "private_folder",
    "private_sqlite",
    "sync_folder",
    "write_synced",
]

FILE_MODE: Final = 0o600
FOLDER_MODE: Final = 0o700
SQLITE_SIDE_FILES: Final = ("-wal", "-shm", "-journal")
"""Suffixes of the files SQLite keeps beside a database."""

log = logging.getLogger("zhifu.core.files")
_WARNED: set[str] = set()


def mode_of(path: str | Path) -> int:
    """The permission bits of ``path`` (``0o600``...)."""
    return stat.S_IMODE(Path(path).stat().st_mode)


def private_folder(path: str | Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700; the folder.

    A folder that exists already is left as it is, with a warning when group or others have
    any access to it. Raises :class:`OSError` when the folder cannot be created.
    """
    folder = Path(path)
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for part in reversed(missing):
        try:
            part.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # created meanwhile by another process: checked below
        os.chmod(part, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    if not missing and mode_of(folder) & 0o077 and str(folder) not in _WARNED:
        _WARNED.add(str(folder))  # once per folder and process: a start opens it many times
        log.warning("the data folder %s is open to other users: chmod 700 it", folder)
    return folder


def private_file(path: str | Path, content: bytes = b"") -> bool:
    """Create ``path`` with mode 0600 holding ``content``; True when it was created.

    The file is created exclusively, so an existing file is never overwritten: it keeps its
    content and loses any access by group and others (False is returned). The folder must exist (see
    :func:`private_folder`). Raises :class:`OSError` when the file cannot be created.
    """
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(target)
        return False
    try:
        os.fchmod(fd, FILE_MODE)  # os.open's mode is filtered by the umask
        if content:
            os.write(fd, content)
            os.fsync(fd)
    finally:
        os.close(fd)
    return True


def write_synced(path: str | Path, content: bytes) -> None:
    """Write ``content`` to ``path`` (mode 0600, created or truncated) and fsync it.

    The first step of an atomic replacement: write a temporary file with this, then
    ``os.replace`` it over the real one and :func:`sync_folder` the folder.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_synced(folder / ".new.tmp", b"version 2")
    >>> os.replace(folder / ".new.tmp", folder / "store"); sync_folder(folder)
    >>> (folder / "store").read_bytes(), oct(mode_of(folder / "store"))
    (b'version 2', '0o600')
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(path: str | Path) -> None:
    """fsync a folder, so that a rename or a new file in it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_sqlite(path: str | Path) -> None:
    """Take any access by group and others from an SQLite database and its side files.

    Call it after connecting (and choosing the journal mode): the files that exist then are
    tightened, missing ones are skipped.
    """
    database = Path(path)
    for candidate in (database, *(Path(f"{database}{s}") for s in SQLITE_SIDE_FILES)):
        try:
            _tighten(candidate)
        except FileNotFoundError:
            continue


def _tighten(path: Path) -> None:
    mode = mode_of(path)
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
        log.info("%s was open to other users: now mode %o", path, mode & 0o700)
