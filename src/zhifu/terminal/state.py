"""The terminal's state folder: settings, counters, the batch's log, the pending reversal, keys.

``TERM/`` (mode 0700) holds ``state.json`` (written atomically: a temporary file, fsync,
rename — a kill never leaves half a state) and ``keys.db``, the terminal's own key store: the
TMK and the working keys, sealed under an LMK (``ZHIFU_LMK`` / ``ZHIFU_LMK_FILE``, else a
local ``TERM/lmk.key``). The state names keys by handle only, and keeps no PIN, PIN block or
track: a logged transaction has the masked PAN; a pending reversal keeps its PAN and expiry
(fields 2 and 14) sealed under the same LMK, the rest of its fields as they are sent.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from zhifu.core.errors import DecodeError, UsageError
from zhifu.core.files import private_file, private_folder
from zhifu.iso8583 import Message
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.sealing import LmkSealer
from zhifu.security.store import LMK_ENV, LMK_FILE_ENV, KeyStore

__all__ = ["TerminalState", "open_hsm"]

STATE_FILE = "state.json"
FORMAT = "zhifu-terminal/1"
SEALED_FIELDS = ("2", "14")
"""Fields of a pending reversal kept sealed under the LMK (the PAN and the expiry)."""
_SEAL_LABEL = "terminal pending reversal"
_OFFLINE_LABEL = "terminal offline upload"
_LOG_LABEL = "terminal batch log"


@dataclasses.dataclass
class TerminalState:
    """Everything a terminal remembers between commands."""

    folder: Path
    merchant_id: str
    terminal_id: str
    tmk: str
    algorithm: str = "3des"
    host: str = ""
    batch: str = "000000"
    next_stan: int = 1
    keys: dict[str, str] | None = None
    needs_sign_on: bool = True
    pending_reversal: dict[str, Any] | None = None
    log: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    offline: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """Offline approvals (TC) waiting for their upload, kept like a pending reversal."""

    def take_stan(self) -> str:
        """The next STAN (000001 to 999999, then round again); saved before use."""
        stan = f"{self.next_stan:06d}"
        self.next_stan = self.next_stan % 999_999 + 1
        self.save()
        return stan

    def _kept(self, message: Message, label: str) -> dict[str, Any]:
        public = {n: v for n, v in message.fields.items() if n not in SEALED_FIELDS}
        secret = {n: message.fields[n] for n in SEALED_FIELDS if n in message.fields}
        sealed = _sealer(str(self.folder)).seal(label, json.dumps(secret).encode())
        return {"fields": public, "sealed": sealed.hex(), "batch": self.batch}

    def arm_reversal(self, reversal: Message) -> None:
        """Make ``reversal`` (a 0400 without its MAC) the pending one, saved at once."""
        self.pending_reversal = self._kept(reversal, _SEAL_LABEL)
        self.save()

    def keep_offline(self, upload: Message) -> None:
        """Keep an offline approval's upload (a 0200 without its MAC) until it is sent."""
        self.offline.append(self._kept(upload, _OFFLINE_LABEL))
        self.save()

    def seal_pan(self, pan: str) -> str:
        """The PAN sealed under the LMK for the batch log (its batch upload needs it)."""
        return _sealer(str(self.folder)).seal(_LOG_LABEL, pan.encode("ascii")).hex()

    def unseal_pan(self, sealed: str) -> str:
        """A PAN :meth:`seal_pan` sealed."""
        return _sealer(str(self.folder)).unseal(_LOG_LABEL, bytes.fromhex(sealed)).decode()

    def unseal_card_fields(
        self, pending: Mapping[str, Any], *, offline: bool = False
    ) -> dict[str, str]:
        """The sealed fields of a pending reversal, or of an upload (``offline``)."""
        if not pending.get("sealed"):
            return {}
        label = _OFFLINE_LABEL if offline else _SEAL_LABEL
        clear = _sealer(str(self.folder)).unseal(label, bytes.fromhex(pending["sealed"]))
        fields: dict[str, str] = json.loads(clear)
        return fields

    def as_json(self) -> dict[str, Any]:
        """The file's object."""
        data = dataclasses.asdict(self)
        del data["folder"]
        return {"format": FORMAT, **data}

    def save(self) -> None:
        """Write ``state.json`` atomically."""
        path = self.folder / STATE_FILE
        temporary = path.with_suffix(".tmp")
        payload = (json.dumps(self.as_json(), indent=1, sort_keys=True) + "\n").encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @classmethod
    def load(cls, folder: Path | str) -> TerminalState:
        """Read a state folder (UsageError naming ``--state`` when there is none)."""
        root = Path(folder)
        try:
            data = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(
                f"{root} holds no terminal: run `zhifu terminal init` first", argument="--state"
            ) from None
        except ValueError:
            raise DecodeError("not JSON", field=STATE_FILE) from None
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
            raise DecodeError(f"not a {FORMAT} state", field=STATE_FILE)
        try:
            return cls(root, **data)
        except TypeError as exc:
            raise DecodeError(f"unexpected content ({exc})", field=STATE_FILE) from None


def _lmk_environ(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    if env.get(LMK_ENV) or env.get(LMK_FILE_ENV):
        return env
    path = folder / "lmk.key"
    private_file(path, (secrets.token_hex(32) + "\n").encode("ascii"))
    return {**env, LMK_FILE_ENV: str(path)}


@lru_cache(maxsize=256)
def _sealer(folder: str) -> LmkSealer:
    return LmkSealer.from_environ(_lmk_environ(Path(folder)))


def open_hsm(folder: Path | str) -> SoftHsm:
    """The terminal's security module over ``folder/keys.db``."""
    root = private_folder(folder)
    return SoftHsm(KeyStore.open(root / "keys.db", environ=_lmk_environ(root)))
