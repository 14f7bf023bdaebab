"""The clearing folder of ``zhifu serve``: where it is, what it holds, who may read it.

The folder is ``$ZHIFU_HOME/clearing`` (``var/clearing`` by default; :func:`clearing_home` is
the one place that says so). It holds:

=================================  ==============================================================
``participants.json``              the participants (the ``participants`` list of a scenario),
                                   each with ``public_key``: the hex SM2 public key it signs with
``calendar.toml`` / ``.json``      holiday data added to ``chinesecalendar``'s (optional)
``clearing-events.db``             the event log, unless ``ZHIFU_DATABASE_URL`` names a database
``clearing-ledger.db``             the settlement ledger (the participants' reserve accounts)
``keys.db``                        the centre's key store: its SM2 key, the banks' public keys
``centre.pub``                     the centre's SM2 public key (hex), for the banks
=================================  ==============================================================

:func:`prepare` makes the folder mode 0700 and the files zhifu writes there 0600.
``ZHIFU_BEPS_CLOCK_FILE`` names a file whose ISO 8601 instant is the centres' clock instead of
the wall clock (:class:`FileClock`): for rehearsing a business day, never for production.

>>> import json, tempfile
>>> home = prepare(Path(tempfile.mkdtemp()) / "clearing")
>>> oct(home.stat().st_mode & 0o777)
'0o700'
>>> clearing_home({"ZHIFU_HOME": "/srv/zhifu"}).as_posix(), clearing_home({}).as_posix()
('/srv/zhifu/clearing', 'var/clearing')
>>> database_url(home, {}) == f"sqlite:///{home / EVENTS_FILE}"
True
>>> _ = (home / PARTICIPANTS_FILE).write_text(json.dumps({"participants": [
...     {"code": "102100099996", "city": "1000", "public_key": "04" + "11" * 64}]}))
>>> setup = read_participants(home)
>>> [p.code for p in setup.participants], len(setup.keys["102100099996"])
(['102100099996'], 65)
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from zhifu.clearing.demo import DEMO
from zhifu.clearing.model import Participant
from zhifu.clearing.simulate import Scenario, parse_instant
from zhifu.codec.home import data_home
from zhifu.core.clock import Clock
from zhifu.core.errors import UsageError

__all__ = [
    "CENTRE_KEY_FILE",
    "CLOCK_ENV",
    "DATABASE_ENV",
    "EVENTS_FILE",
    "LEDGER_FILE",
    "PARTICIPANTS_FILE",
    "FileClock",
    "Setup",
    "clearing_home",
    "clock_from_environ",
    "database_url",
    "prepare",
    "private_file",
    "read_participants",
    "set_aside",
    "write_private",
]

DATABASE_ENV: Final = "ZHIFU_DATABASE_URL"
CLOCK_ENV: Final = "ZHIFU_BEPS_CLOCK_FILE"
PARTICIPANTS_FILE: Final = "participants.json"
EVENTS_FILE: Final = "clearing-events.db"
LEDGER_FILE: Final = "clearing-ledger.db"
CENTRE_KEY_FILE: Final = "centre.pub"
KEY_STORE_FILES: Final = ("keys.db", "keys.db-wal", "keys.db-shm")
FOLDER_MODE: Final = 0o700
FILE_MODE: Final = 0o600

log = logging.getLogger("zhifu.clearing.home")


def clearing_home(environ: Mapping[str, str] | None = None) -> Path:
    """The clearing folder: ``$ZHIFU_HOME/clearing``, else ``var/clearing``."""
    return data_home(environ) / "clearing"


def database_url(home: Path, environ: Mapping[str, str] | None = None) -> str:
    """Where the event log lives: ``ZHIFU_DATABASE_URL`` if set, else the folder's SQLite file."""
    env = os.environ if environ is None else environ
    return env.get(DATABASE_ENV) or f"sqlite:///{home / EVENTS_FILE}"


def prepare(home: Path) -> Path:
    """Create the folder if need be; mode 0700 for it, 0600 for the key store's files."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, FOLDER_MODE)
    for name in KEY_STORE_FILES:
        if (home / name).exists():
            os.chmod(home / name, FILE_MODE)
    return home


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing, else set its mode to 0600 (SQLite gives
    a database's WAL and shared-memory files the mode of the database)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a small file with mode 0600, replacing it whole (never half written)."""
    partial = private_file(path.with_name(path.name + ".partial"))
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def set_aside(path: Path, why: str) -> Path | None:
    """Rename a SQLite file and its WAL/shared-memory files to ``NAME.set-aside-STAMP``."""
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.set-aside-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        found = path.with_name(path.name + suffix)
        if found.exists():
            os.replace(found, target.with_name(target.name + suffix))
    log.warning("%s moved to %s: %s", path, target, why)
    return target


@dataclass
class Setup:
    """What ``participants.json`` says: participants, opening reserves (fen), public keys."""

    participants: list[Participant]
    reserves: dict[str, int] = field(default_factory=dict)
    keys: dict[str, bytes] = field(default_factory=dict)


def _public_key(raw: Mapping[str, Any]) -> bytes | None:
    text = raw.get("public_key")
    if text is None:
        return None
    try:
        return bytes.fromhex(str(text))
    except ValueError:
        raise UsageError(
            f"participant {raw.get('code')}: public_key is not hex", argument="public_key"
        ) from None


def read_participants(home: Path | None) -> Setup:
    """The participants of ``participants.json`` (the demonstration set when there is none)."""
    path = None if home is None else home / PARTICIPANTS_FILE
    if path is not None and path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"{path}: not JSON: {exc}", argument="participants") from None
        raw = list(data["participants"] if isinstance(data, dict) else data)
    else:
        raw = list(DEMO["participants"])
    if not all(isinstance(p, dict) for p in raw):
        raise UsageError(f"{path}: a participant is an object", argument="participants")
    keys = {str(p.get("code")): k for p in raw if (k := _public_key(p)) is not None}
    plain = [{k: v for k, v in p.items() if k != "public_key"} for p in raw]
    scenario = Scenario.from_mapping({"participants": plain, "items": []})
    reserves = {bank: fen for bank, fen in scenario.reserves.items() if fen}
    return Setup(scenario.participants, reserves, keys)


class FileClock:
    """A rehearsal clock: the instant written in a file (ISO 8601; Beijing time if naive).

    The file is read at each :meth:`now`; while it cannot be read the last instant stands.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._last = self._read()
        self._failing = False

    def _read(self) -> datetime:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"{self.path}: {exc.strerror}", argument=CLOCK_ENV) from None
        return parse_instant(text, CLOCK_ENV)

    def now(self) -> datetime:
        try:
            self._last = self._read()
            self._failing = False
        except UsageError as exc:
            if not self._failing:
                log.error("BEPS clock file unreadable, the clock stays at %s: %s", self._last, exc)
            self._failing = True
        return self._last

    def monotonic(self) -> float:
        return time.monotonic()


def clock_from_environ(environ: Mapping[str, str] | None = None) -> Clock | None:
    """The :class:`FileClock` named by ``ZHIFU_BEPS_CLOCK_FILE``, if it is set."""
    env = os.environ if environ is None else environ
    path = env.get(CLOCK_ENV)
    if not path:
        return None
    log.warning("BEPS centres on the clock of %s (a rehearsal), not the wall clock", path)
    return FileClock(path)
